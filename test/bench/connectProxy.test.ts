import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request, type IncomingMessage } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { startConnectProxy, type ConnectProxy } from "./connectProxy";
import { rcloneArguments } from "./rcloneRun";

/** Sends CONNECT for `authority` and resolves with the answer and, when it is 200, the tunnel. */
function connectThrough(proxy: ConnectProxy, authority: string): Promise<{ status: number; socket: Socket; head: Buffer }> {
  const { hostname, port } = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const call = request({ host: hostname, port: Number(port), method: "CONNECT", path: authority });
    call.once("connect", (response: IncomingMessage, socket: Socket, head: Buffer) => resolve({ status: response.statusCode ?? 0, socket, head }));
    call.once("error", reject);
    call.end();
  });
}

function firstData(socket: Socket, head: Buffer): Promise<string> {
  if (head.length > 0) return Promise.resolve(head.toString());
  return new Promise((resolve) => socket.once("data", (chunk: Buffer) => resolve(chunk.toString())));
}

describe("bench CONNECT proxy", () => {
  let target: Server;
  let proxy: ConnectProxy;
  before(async () => {
    // Answers each connection with a greeting, then echoes what it gets back in upper case.
    target = createServer((socket) => {
      socket.write("hello from the target\n");
      socket.on("data", (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()));
    });
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    const { port } = target.address() as AddressInfo;
    proxy = await startConnectProxy(new Map([["graph.example.test:443", { host: "127.0.0.1", port }]]));
  });
  after(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => target.close(() => resolve()));
  });

  test("tunnels a routed authority to its port, both ways", async () => {
    const { status, socket, head } = await connectThrough(proxy, "graph.example.test:443");
    try {
      assert.equal(status, 200);
      assert.equal(await firstData(socket, head), "hello from the target\n");
      socket.write("ping");
      assert.equal(await firstData(socket, Buffer.alloc(0)), "PING");
      assert.equal(proxy.tunnels(), 1);
    } finally {
      socket.destroy();
    }
  });

  test("refuses any other authority with 403 and a plain request with 405, and lists both", async () => {
    const tunnelsBefore = proxy.tunnels();
    const other = await connectThrough(proxy, "login.example.test:443");
    other.socket.destroy();
    assert.equal(other.status, 403);
    const plainStatus = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(proxy.url);
      const call = request({ host: hostname, port: Number(port), path: "http://graph.example.test/v1.0/me" }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      call.once("error", reject);
      call.end();
    });
    assert.equal(plainStatus, 405);
    assert.deepEqual(proxy.refused(), ["CONNECT login.example.test:443", "GET http://graph.example.test/v1.0/me"]);
    assert.equal(proxy.tunnels(), tunnelsBefore);
  });
});

describe("rclone's flags in the bench", () => {
  test("the engine's fragment size is given exactly: whole MiB as M, else KiB", () => {
    const common = { configPath: "/tmp/rclone.conf", source: "c/large.bin", destination: "out", transfers: 4 };
    const tenMiB = rcloneArguments({ ...common, chunkBytes: 10 * 1024 * 1024 });
    assert.deepEqual(tenMiB.slice(0, 3), ["copy", "azurite:c/large.bin", "onedrive:out"]);
    assert.equal(tenMiB[tenMiB.indexOf("--onedrive-chunk-size") + 1], "10M");
    assert.equal(tenMiB[tenMiB.indexOf("--transfers") + 1], "4");
    const rounded = rcloneArguments({ ...common, chunkBytes: 9 * 327_680 });
    assert.equal(rounded[rounded.indexOf("--onedrive-chunk-size") + 1], "2880K");
  });
});
