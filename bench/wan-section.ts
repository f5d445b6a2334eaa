/** Markers around the WAN section of bench/RESULTS.md, which each kind of run keeps for the other. */
export const WAN_START = '<!-- wan -->'
export const WAN_END = '<!-- /wan -->'
