// migo's Node session: migrate-mongo's CommonJS migrations (module.exports = { up(db, client),
// down(db, client) }) run unchanged, with the project's `mongodb` driver.
//
// The channel is migo's own, never stdout: requests arrive on fd 3, answers leave on fd 4, each
// framed as a 4-byte big-endian length and a JSON document. A request carries the migration's
// code (the bytes migo hashed), compiled here as the module of its original path, so that
// `require('./helper')`, `__dirname` and `require('mongodb')` resolve as they would for the file
// itself. The answer says whether the requested function was exported, called and awaited
// (a callback-style function, `up(db, next)`, is done when it calls back). A code backfill's
// `batch(db, batch)` is called once per request with the batch (its `_id`s and filter arrive as
// Extended JSON and are handed over as the driver's types) and awaited.
//
// The driver is resolved the way Node would for a file of the migrations directory, then from
// the project's directory, then NODE_PATH. The connection string comes from the environment
// (MIGO_URI), never from argv.
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');

function send(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  let sent = 0;
  while (sent < frame.length) {
    try {
      sent += fs.writeSync(4, frame, sent, frame.length - sent);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

const searched = [process.env.MIGO_MIGRATIONS_DIR, process.env.MIGO_PROJECT_DIR]
  .concat((process.env.NODE_PATH || '').split(path.delimiter))
  .filter(Boolean);

// migrate-mongo (before 14) took a function whose last parameter has one of these names for
// callback style.
const CALLBACK_NAMES = ['callback', 'callback_', 'cb', 'cb_', 'next', 'next_', 'done', 'done_'];

function parameters(fn) {
  const text = Function.prototype.toString.call(fn)
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  const arrow = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(text);
  if (arrow) return [arrow[1]];
  const open = text.indexOf('(');
  if (open < 0) return [];
  let depth = 0;
  let close = open;
  for (; close < text.length; close++) {
    if (text[close] === '(') depth++;
    if (text[close] === ')' && --depth === 0) break;
  }
  return text.slice(open + 1, close).split(',')
    .map((p) => p.trim().split(/[\s=]/)[0].replace(/^\.\.\./, ''))
    .filter(Boolean);
}

// Calls `step` as migrate-mongo would, and waits until it is done.
function call(step, self, db, client) {
  const names = parameters(step);
  if (!CALLBACK_NAMES.includes(names[names.length - 1])) {
    return Promise.resolve(step.call(self, db, client));
  }
  return new Promise((resolve, reject) => {
    const callback = (error) => (error ? reject(error) : resolve());
    const args = names.length < 3 ? [db, callback] : [db, client, callback];
    const returned = step.apply(self, args);
    if (returned && typeof returned.then === 'function') {
      returned.then(resolve, reject);
    }
  });
}

// Calls a backfill's `batch(db, batch)` and waits until it is done: awaited, or, when its last
// parameter is a callback (`batch(db, batch, done)`), until it calls back. Any other third
// parameter is refused: migo could not tell when the batch ended.
function callBatch(fn, self, db, batch) {
  const names = parameters(fn);
  if (names.length <= 2) return Promise.resolve(fn.call(self, db, batch));
  if (!CALLBACK_NAMES.includes(names[names.length - 1])) {
    return Promise.reject(new Error('batch takes (db, batch), or (db, batch, done) with a callback; '
      + 'it declares (' + names.join(', ') + ')'));
  }
  return new Promise((resolve, reject) => {
    const returned = fn.call(self, db, batch, (error) => (error ? reject(error) : resolve()));
    if (returned && typeof returned.then === 'function') returned.then(() => {}, reject);
  });
}

function failure(request, stage, error) {
  const text = error instanceof Error ? error.name + ': ' + error.message : String(error);
  process.stderr.write(text + '\n');
  return { type: 'result', id: request.id, ok: false, stage, error: text };
}

async function step(driver, client, request) {
  let exported;
  try {
    const file = new Module(request.path, module);
    file.filename = request.path;
    file.paths = Module._nodeModulePaths(path.dirname(request.path));
    file._compile(request.code, request.path);
    exported = file.exports;
  } catch (e) {
    return failure(request, 'load', e);
  }
  if (exported && typeof exported[request.direction] !== 'function' && exported.default) {
    exported = exported.default;
  }
  const fn = exported && exported[request.direction];
  if (typeof fn !== 'function') {
    const signature = request.batch ? '(db, batch)' : '(db, client)';
    const error = request.name + ' exports no ' + request.direction + signature + ' function';
    process.stderr.write(error + '\n');
    return { type: 'result', id: request.id, ok: false, stage: 'missing', error };
  }
  try {
    const db = client.db(request.database);
    if (request.batch) {
      const batch = driver.BSON.EJSON.deserialize(request.batch);
      await callBatch(fn, exported, db, batch);
    } else {
      await call(fn, exported, db, client);
    }
  } catch (e) {
    return failure(request, 'call', e);
  }
  return { type: 'result', id: request.id, ok: true, called: request.direction };
}

(async () => {
  let driver;
  let driverPath;
  try {
    driverPath = require.resolve('mongodb', { paths: searched });
    driver = require(driverPath);
  } catch (e) {
    send({
      type: 'unavailable',
      error: 'Node found no `mongodb` driver from ' + searched.map((p) => '`' + p + '`').join(', '),
      hint: 'run `npm install mongodb` in `' + process.env.MIGO_PROJECT_DIR +
        '` (or point NODE_PATH at a node_modules that has it)',
    });
    process.exit(3);
  }
  const client = new driver.MongoClient(process.env.MIGO_URI);
  try {
    await client.connect();
  } catch (e) {
    send({ type: 'unavailable', error: 'Node could not connect with its `mongodb` driver: ' + String(e) });
    process.exit(3);
  }
  let version = '?';
  for (let dir = path.dirname(driverPath); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (manifest.name === 'mongodb') {
        version = manifest.version;
        break;
      }
    } catch (e) {
      // no manifest here: look further up
    }
  }
  send({ type: 'ready', runtime: 'node ' + process.version + ', mongodb ' + version });
  const input = new (require('net').Socket)({ fd: 3, readable: true, writable: false });
  let pending = Buffer.alloc(0);
  for await (const chunk of input) {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) break;
      const request = JSON.parse(pending.subarray(4, 4 + length).toString('utf8'));
      pending = pending.subarray(4 + length);
      send(await step(driver, client, request));
    }
  }
  // migo closed the channel: the run is over (closing the client would only wait).
  process.exit(0);
})().catch((e) => {
  process.stderr.write(String(e) + '\n');
  process.exit(1);
});
