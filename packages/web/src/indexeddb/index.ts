export {
  createIndexedDbQueue,
  type Durability,
  type IndexedDbQueueOptions,
  IndexedDbQueueRepository,
} from './repository.js';
export { INDEXEDDB_SCHEMA_VERSION } from './schema.js';
