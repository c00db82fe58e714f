import { describeRoomBus } from './bus-contract.ts';
import { InProcessRoomBus } from './bus.ts';

describeRoomBus('in-process', (onHandlerError) => new InProcessRoomBus(onHandlerError));
