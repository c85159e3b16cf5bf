// migo's mongosh session: one mongosh for every `.js` migration of a run. Reads one JSON request
// per line on stdin ({path, direction, database, name}), loads the file with `db` set to the
// database, calls up() or down(), and answers with one result line. The connection string comes
// from the environment (MIGO_URI), never from argv.
const migoFs = require('fs');
const migoConnection = connect(process.env.MIGO_URI);
const migoChunk = Buffer.alloc(65536);
let migoPending = '';
for (;;) {
  let migoRead = 0;
  try {
    migoRead = migoFs.readSync(0, migoChunk, 0, migoChunk.length, null);
  } catch (e) {
    if (e.code === 'EAGAIN') continue;
    throw e;
  }
  if (migoRead === 0) break;
  migoPending += migoChunk.toString('utf8', 0, migoRead);
  let migoEnd;
  while ((migoEnd = migoPending.indexOf('\n')) >= 0) {
    const migoRequest = JSON.parse(migoPending.slice(0, migoEnd));
    migoPending = migoPending.slice(migoEnd + 1);
    let migoResult;
    try {
      globalThis.up = undefined;
      globalThis.down = undefined;
      db = migoConnection.getSiblingDB(migoRequest.database);
      load(migoRequest.path);
      const migoStep = migoRequest.direction === 'down' ? globalThis.down : globalThis.up;
      if (typeof migoStep !== 'function') {
        throw new Error(migoRequest.name + ' defines no ' + migoRequest.direction + '() function');
      }
      migoStep();
      migoResult = { ok: true };
    } catch (e) {
      process.stderr.write(String(e) + '\n');
      migoResult = { ok: false, error: String(e) };
    }
    print('\x1emigo-result ' + JSON.stringify(migoResult));
  }
}
