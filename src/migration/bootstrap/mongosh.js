// migo's mongosh session: one mongosh for every mongosh `.js` migration of a run.
//
// The channel is migo's own, never stdout: requests arrive on fd 3, answers leave on fd 4, each
// framed as a 4-byte big-endian length and a JSON document. A request carries the migration's
// code (the bytes migo hashed, never a path to read again), its name, its original path, the
// direction and the database. The answer says whether the requested function was found, called
// and (when it returned a promise) awaited. stdout and stderr are only shown by migo. A code
// backfill's `batch(batch)` is called once per request with the batch, its `_id`s and filter
// turned from Extended JSON into mongosh's types.
//
// Each file runs in a scope of its own: its code is wrapped in a function whose parameter `db`
// is the database being migrated, and every global the file creates or changes is put back as
// it was after the step, so helpers of one migration never leak into the next. The wrapped code
// goes through a file (load() is what applies mongosh's async rewriter) in MIGO_SCRATCH_DIR, a
// directory only this user can read, removed as soon as it is loaded.
//
// The connection string comes from the environment (MIGO_URI), never from argv.
const migoFs = require('fs');
const migoPath = require('path');
const migoOs = require('os');

function migoSend(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  let sent = 0;
  while (sent < frame.length) {
    try {
      sent += migoFs.writeSync(4, frame, sent, frame.length - sent);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

let migoConnection;
try {
  migoConnection = connect(process.env.MIGO_URI);
} catch (e) {
  migoSend({ type: 'unavailable', error: 'mongosh cannot connect: ' + String(e) });
  quit(3);
}
// A directory only this user can read, which migo removes with the session.
const migoScratch = process.env.MIGO_SCRATCH_DIR ||
  migoFs.mkdtempSync(migoPath.join(migoOs.tmpdir(), 'migo-mongosh-'));
migoSend({ type: 'ready', runtime: 'mongosh ' + version() });

// The globals as they are before a file runs (name → property descriptor), and putting them
// back: removing what the file added, restoring what it replaced. Built with `new Function`
// so that mongosh's async rewriter, which instruments every function of this script, leaves
// these loops over a few hundred globals alone (it made them cost tens of milliseconds a step).
const migoGlobals = new Function(`
  const all = new Map();
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    all.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
  }
  return all;
`);
const migoRestore = new Function('before', `
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    const old = before.get(name);
    try {
      if (old === undefined) {
        delete globalThis[name];
      } else if ('value' in old && globalThis[name] !== old.value) {
        Object.defineProperty(globalThis, name, old);
      }
    } catch (e) {
      // a property mongosh does not let go of stays
    }
  }
`);

function migoFailure(request, stage, error) {
  let text = String(error);
  if (error && typeof error === 'object' && typeof error.message === 'string' && error.name) {
    text = error.name + ': ' + error.message;
  }
  text = text.split(migoPath.join(migoScratch, 'migration.js')).join(request.path);
  process.stderr.write(text + '\n');
  return { type: 'result', id: request.id, ok: false, stage: stage, error: text };
}

async function migoStep(request) {
  const before = migoGlobals();
  try {
    let code = request.code;
    if (code.startsWith('#!')) {
      code = '//' + code.slice(2);
    }
    const file = migoPath.join(migoScratch, 'migration.js');
    // The header stays on the file's first line, so line numbers in errors are the file's own.
    migoFs.writeFileSync(
      file,
      'globalThis.__migoDefine = function (db, __filename, __dirname) {' + code +
        '\n;return { up: typeof up === "function" ? up : undefined,' +
        ' down: typeof down === "function" ? down : undefined,' +
        ' batch: typeof batch === "function" ? batch : undefined };\n};\n',
      { mode: 0o600 }
    );
    let functions;
    try {
      try {
        load(file);
      } finally {
        migoFs.rmSync(file, { force: true });
      }
      const db = migoConnection.getSiblingDB(request.database);
      functions = await globalThis.__migoDefine(db, request.path, migoPath.dirname(request.path));
    } catch (e) {
      return migoFailure(request, 'load', e);
    }
    const step = functions[request.direction];
    if (typeof step !== 'function') {
      const error = request.name + ' defines no ' + request.direction + '() function';
      process.stderr.write(error + '\n');
      return { type: 'result', id: request.id, ok: false, stage: 'missing', error: error };
    }
    try {
      if (request.batch) {
        await step(EJSON.deserialize(request.batch));
      } else {
        await step();
      }
    } catch (e) {
      return migoFailure(request, 'call', e);
    }
    return { type: 'result', id: request.id, ok: true, called: request.direction };
  } finally {
    migoRestore(before);
  }
}

async function migoMain() {
  const input = new (require('net').Socket)({ fd: 3, readable: true, writable: false });
  let pending = Buffer.alloc(0);
  for await (const chunk of input) {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) break;
      const request = JSON.parse(pending.subarray(4, 4 + length).toString('utf8'));
      pending = pending.subarray(4 + length);
      migoSend(await migoStep(request));
    }
  }
}

migoMain();
