// migo's Node session: migrate-mongo's CommonJS migrations (module.exports = { up(db, client),
// down(db, client) }) run unchanged, with the `mongodb` driver resolved from the project. Reads
// one JSON request per line on stdin ({path, direction, database, name}); answers with one
// result line. The connection string comes from the environment (MIGO_URI), never from argv.
'use strict';
const readline = require('readline');
const searched = [process.env.MIGO_PROJECT_DIR]
  .concat((process.env.NODE_PATH || '').split(require('path').delimiter))
  .filter(Boolean);
let driver;
try {
  driver = require(require.resolve('mongodb', { paths: searched }));
} catch (e) {
  process.stderr.write('the `mongodb` driver is not installed in ' + searched.join(', ') +
    ': run `npm install mongodb` in the project\n');
  process.exit(3);
}
(async () => {
  const client = new driver.MongoClient(process.env.MIGO_URI);
  await client.connect();
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const request = JSON.parse(line);
    let result;
    try {
      const migration = require(request.path);
      const step = migration[request.direction];
      if (typeof step !== 'function') {
        throw new Error(request.name + ' exports no ' + request.direction + '(db, client) function');
      }
      await step(client.db(request.database), client);
      result = { ok: true };
    } catch (e) {
      process.stderr.write(String(e) + '\n');
      result = { ok: false, error: String(e) };
    }
    process.stdout.write('\x1emigo-result ' + JSON.stringify(result) + '\n');
  }
  await client.close();
})().catch((e) => {
  process.stderr.write(String(e) + '\n');
  process.exit(1);
});
