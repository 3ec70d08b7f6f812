// Options every verb shares: which topology file to use.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, loadTopology, type Topology } from '../config/index.ts';

export function topologyOf(cmd: Command): Topology {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  const file = root.opts<{ config?: string }>().config ?? DEFAULT_CONFIG_PATH;
  return loadTopology(file);
}

export function rootOptions(cmd: Command): { config?: string } {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  return root.opts<{ config?: string }>();
}
