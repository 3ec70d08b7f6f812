// Decide: the permitted regions for a request (tier one) and the order to try them (tier two).
// Until the policy engine is wired, a region is permitted for a jurisdiction when it lies in
// that jurisdiction; strictest wins, so a region must be permitted for every jurisdiction.
import type { Topology } from '../config/index.ts';
import type { HealthMonitor } from '../health/index.ts';
import type { ApplicableJurisdiction } from './identify.ts';

export interface DecideInput {
  jurisdictions: readonly ApplicableJurisdiction[];
  dataClass: string;
  model: string;
}

export interface DecideResult {
  permitted: string[];
  candidates: string[];
  rationale: string[];
}

export class Decider {
  readonly #topology: Topology;
  readonly #health: HealthMonitor;
  readonly #order: string[];
  readonly #servesModel: Map<string, Set<string>>;

  constructor(topology: Topology, health: HealthMonitor) {
    this.#topology = topology;
    this.#health = health;
    const pref = topology.data.routing.preference;
    this.#order = [...pref, ...topology.regions.map((r) => r.id).filter((id) => !pref.includes(id))];
    this.#servesModel = new Map();
    for (const r of topology.regions) {
      for (const m of r.models) {
        let s = this.#servesModel.get(m);
        if (!s) this.#servesModel.set(m, (s = new Set()));
        s.add(r.id);
      }
    }
  }

  servesAnywhere(model: string): boolean {
    return this.#servesModel.has(model);
  }

  decide(input: DecideInput): DecideResult {
    const rationale: string[] = [];
    const names = [...new Set(input.jurisdictions.map((j) => j.jurisdiction))];
    if (names.length === 0) {
      return { permitted: [], candidates: [], rationale: ['no jurisdiction applies to this request: declare one with x-sovereign-jurisdiction or give the tenant a fixed jurisdiction'] };
    }
    const permitted = this.#order.filter((id) => {
      const r = this.#topology.region(id);
      return r !== undefined && names.every((j) => r.jurisdiction === j);
    });
    for (const j of names) {
      const inJ = this.#topology.regionsIn(j).map((r) => r.id);
      rationale.push(inJ.length > 0 ? `${j}: data stays in ${j} (${inJ.join(', ')})` : `${j}: no region of Sovereign lies in jurisdiction ${j}`);
    }
    const serving = this.#servesModel.get(input.model);
    const candidates = permitted.filter((id) => serving?.has(id) === true && this.#health.isHealthy(id));
    if (permitted.length > 0 && !permitted.some((id) => serving?.has(id))) {
      rationale.push(`model "${input.model}" is not served in any permitted region (${permitted.join(', ')})`);
    }
    return { permitted: permitted.filter((id) => serving?.has(id) === true), candidates, rationale };
  }
}
