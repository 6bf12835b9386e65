export {
  createIndexedDbQueue,
  type Durability,
  INDEXEDDB_SCHEMA_VERSION,
  type IndexedDbQueueOptions,
  IndexedDbQueueRepository,
} from './indexeddb/index.js';
