/**
 * A TCP relay that connects onward from a chosen loopback address. Real clients (skopeo, podman) cannot
 * pick their source address, but a client of `127.0.0.1:<relay port>` reaches the emulator *from*
 * `localAddress`, so the edge sees it as a client at that address (say 127.0.2.10: AWS eu-west-1 in the
 * local overlay). Any 127.x.y.z address is local on Linux, so no setup is needed.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Relay {
  /** host:port to give clients. */
  address: string;
  port: number;
  localAddress: string;
  stop(): Promise<void>;
}

export async function startSourceRelay(options: { target: { host: string; port: number }; localAddress: string; host?: string; port?: number }): Promise<Relay> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = connect({ host: options.target.host, port: options.target.port, localAddress: options.localAddress });
    track(client);
    track(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once('error', end);
    upstream.once('error', end);
    client.once('close', end);
    upstream.once('close', end);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    address: `${host}:${port}`,
    port,
    localAddress: options.localAddress,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
