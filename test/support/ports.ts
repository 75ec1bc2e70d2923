// One implementation, shared with the local stack (local/ports.ts).
export { freePort, portIsFree } from '../../local/ports';
