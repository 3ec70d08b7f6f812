// A release of a model as the cell loads it: its files in a directory that was verified
// against the signed manifest (src/registry materializeModel), never node_modules.
import { createRequire } from 'node:module';
import path from 'node:path';

export interface StoredModel {
  name: string;
  /** The release's version. */
  version: string;
  /** The OCI manifest digest of the release, "sha256:<hex>". */
  digest: string;
  dir: string;
}

/** Loads a CommonJS model package from the verified release directory. */
export function requireFromStore<T>(model: StoredModel): T {
  const req = createRequire(path.join(model.dir, 'package.json'));
  return req(model.dir) as T;
}
