export {
  createReferenceQueue,
  REFERENCE_SCHEMA_VERSION,
  type ReferenceQueueOptions,
} from './reference-repository.js';
