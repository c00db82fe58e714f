import type { JSX } from 'preact';
import { useId } from 'preact/hooks';

type FieldProps = {
  label: string;
  error?: string | null | undefined;
  hint?: string;
  multiline?: boolean;
} & Omit<JSX.InputHTMLAttributes<HTMLInputElement> & JSX.TextareaHTMLAttributes<HTMLTextAreaElement>, 'id'>;

/** A labelled input whose error sits right under it and is announced with it. */
export function Field({ label, error, hint, multiline = false, ...input }: FieldProps) {
  const id = useId();
  const describedBy = [error ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy, class: 'field__input' };
  return (
    <div class={`field${error ? ' field--error' : ''}`}>
      <label class="field__label" for={id}>
        {label}
      </label>
      {multiline ? <textarea {...(input as JSX.TextareaHTMLAttributes<HTMLTextAreaElement>)} {...common} /> : <input {...(input as JSX.InputHTMLAttributes<HTMLInputElement>)} {...common} />}
      {hint ? (
        <p class="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field__error" id={`${id}-error`} role="alert" data-testid={`${String(input.name ?? 'field')}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}
