// The loop a migrate-mongo user writes by hand for a backfill: a cursor over the documents that
// still need the change, and a bulkWrite of one updateOne per document every BATCH documents.
// Usage: node backfill_node.js URI DATABASE COLLECTION BATCH   (prints the documents updated)
const { MongoClient } = require('mongodb');
(async () => {
  const [uri, database, collection, batch] = process.argv.slice(2);
  const client = new MongoClient(uri);
  await client.connect();
  const coll = client.db(database).collection(collection);
  let ops = [];
  let updated = 0;
  for await (const doc of coll.find({ status: { $exists: false } }, { projection: { _id: 1 } })) {
    ops.push({ updateOne: { filter: { _id: doc._id }, update: { $set: { status: 'active' } } } });
    if (ops.length >= Number(batch)) {
      updated += (await coll.bulkWrite(ops, { ordered: false })).modifiedCount;
      ops = [];
    }
  }
  if (ops.length) updated += (await coll.bulkWrite(ops, { ordered: false })).modifiedCount;
  console.log(updated);
  await client.close();
})().catch((e) => { console.error(String(e)); process.exit(1); });
