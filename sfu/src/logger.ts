/**
 * The subset of a pino logger the SFU uses; a pino `Logger` satisfies it, so
 * the api passes its own (child) logger and every line carries `module`.
 */
export interface SfuLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child?(bindings: Record<string, unknown>): SfuLogger;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

function fieldsLogger(bindings: Record<string, unknown>, minLevel: Level): SfuLogger {
  const order: Level[] = ['debug', 'info', 'warn', 'error'];
  const write = (level: Level) => (fields: object, message?: string) => {
    if (order.indexOf(level) < order.indexOf(minLevel)) return;
    const line = JSON.stringify({ level, time: Date.now(), ...bindings, ...fields, msg: message });
    if (level === 'error' || level === 'warn') console.error(line);
    else console.log(line);
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => fieldsLogger({ ...bindings, ...more }, minLevel),
  };
}

/** Default when the owner passes no logger: warnings and errors as JSON lines on stderr. */
export const consoleLogger: SfuLogger = fieldsLogger({}, 'warn');

export const silentLogger: SfuLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

export function moduleLogger(base: SfuLogger, module: string): SfuLogger {
  if (base.child) return base.child({ module });
  return {
    debug: (fields, message) => base.debug({ module, ...fields }, message),
    info: (fields, message) => base.info({ module, ...fields }, message),
    warn: (fields, message) => base.warn({ module, ...fields }, message),
    error: (fields, message) => base.error({ module, ...fields }, message),
  };
}
