#!/usr/bin/env node
// The bridge people write with Node: the npm package `ws` for the console WebSocket,
// createWebSocketStream() piped to a `net` socket. A peer of pvebridge in bench/run_bridge.sh,
// written the idiomatic way (no tuning beyond what such a bridge would do).
//
// stdin: one JSON object {"url": "wss://...vncwebsocket?...", "headers": {...}, "ca_file": PATH}
// (the harness made the vncproxy call; the ticket and the token never touch a command line).
// stdout: {"event":"listening","port":N} once the WebSocket is open and 127.0.0.1:N listens,
// {"event":"closed"} when the one local client and the WebSocket are both done; then it exits 0.
'use strict';

const fs = require('fs');
const net = require('net');
const WebSocket = require('ws');

function fail(what) {
  process.stderr.write(`node_ws_bridge: ${what}\n`);
  process.exit(1);
}

function bridge(config) {
  const ws = new WebSocket(config.url, ['binary'], {
    ca: fs.readFileSync(config.ca_file),
    headers: config.headers,
    perMessageDeflate: false,
  });
  ws.on('error', (e) => fail(`websocket: ${e.message}`));
  ws.once('open', () => {
    // Made at once so that what the guest sends before the client comes is kept (and, past the
    // stream's buffer, paused), not dropped.
    const duplex = WebSocket.createWebSocketStream(ws);
    duplex.on('error', () => {});
    let open = 2;
    const done = () => {
      if (--open === 0) {
        process.stdout.write(JSON.stringify({ event: 'closed' }) + '\n', () => process.exit(0));
      }
    };
    ws.on('close', done);
    const server = net.createServer((socket) => {
      server.close();  // exactly one client
      socket.setNoDelay(true);
      socket.on('error', () => {});
      socket.on('close', () => {
        duplex.end();
        // Keep reading the WebSocket (dropping what comes): pveproxy answers our Close by closing
        // TCP once it has sent what it holds, and a paused socket would only notice that after
        // ws's 30-second close timeout.
        duplex.resume();
        done();
      });
      socket.pipe(duplex).pipe(socket);
    });
    server.listen(0, '127.0.0.1', () => {
      process.stdout.write(JSON.stringify({ event: 'listening', port: server.address().port }) +
                           '\n');
    });
  });
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  let config;
  try {
    config = JSON.parse(input);
  } catch (e) {
    fail(`bad configuration on stdin: ${e.message}`);
  }
  bridge(config);
});
