// Topology pieces shared by the benchmarks.

/** The EU jurisdiction of the default topology: the 27 member states plus IS, LI and NO. */
export const EU_COUNTRIES_FOR_BENCH = ['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE', 'IS', 'LI', 'NO'];
