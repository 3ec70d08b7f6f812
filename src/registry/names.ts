// Repository names and tags (distribution-spec "Pulling manifests": <name> and <reference>
// grammars), checked before either is used in a path or an index entry.
import { REPOSITORY_NAME, TAG } from './artifact.ts';
import { RegistryError } from './errors.ts';

export function checkName(name: string): string {
  if (!REPOSITORY_NAME.test(name) || name.length > 128) throw new RegistryError('NAME_INVALID', `repository name "${name.slice(0, 80)}" is invalid; use lower-case letters, digits and separators (e.g. "text-analysis")`);
  return name;
}

export function checkTag(tag: string): string {
  if (!TAG.test(tag)) throw new RegistryError('MANIFEST_INVALID', `tag "${tag.slice(0, 80)}" is invalid; a tag is [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  return tag;
}
