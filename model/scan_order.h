// How the groups of one selective scan walk their sequences: SS2D's four directions read one copy
// of each scan plane through index arithmetic instead of flipped and duplicated copies.
#pragma once

namespace vmunet {

struct ScanOrder {
  // Consecutive groups reading one slice of u: u holds channels / u_share channels, and group g
  // reads slice g / u_share. du is the sum over the groups of a slice.
  int u_share = 1;
  // Bit g set: group g scans from the last position to the first. It reads u, delta, B, C (and dy)
  // and writes y (and every gradient) at position length − 1 − l for its step l.
  unsigned reverse = 0;
};

}  // namespace vmunet
