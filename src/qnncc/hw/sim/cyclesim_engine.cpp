// qnncc cycle-level dataflow simulator (see qnncc/hw/sim/engine.py for the model).
#include <cstdint>
#include <vector>
#include <algorithm>

static const int64_t OCCUPIED = int64_t(1) << 62;

extern "C" int64_t qnncc_cyclesim(
    int64_t n_layers, int64_t n_streams, int64_t frames, int64_t max_cycles,
    const int64_t* run_off, const int64_t* run_r, const int64_t* run_w, const int64_t* run_len,
    const int64_t* lat, const int64_t* period, const int64_t* spread,
    const int64_t* in_off, const int64_t* in_stream, const int64_t* out_off, const int64_t* out_stream,
    const int64_t* cap, int64_t* count, int64_t* maxocc,
    int64_t* frame_start, int64_t* frame_end, int64_t* stats, int64_t* state, int64_t* cycles_out) {
  std::vector<int64_t> f(n_layers, 0), r(n_layers), rem(n_layers, 0), it(n_layers, 0), pos(n_layers, 0),
      pending(n_layers, 0), ring_off(n_layers + 1, 0), iters(n_layers, 0);
  for (int64_t l = 0; l < n_layers; l++) {
    ring_off[l + 1] = ring_off[l] + lat[l];
    for (int64_t j = run_off[l]; j < run_off[l + 1]; j++) iters[l] += run_len[j];
  }
  std::vector<int64_t> ring(ring_off[n_layers] + 1, 0);
  std::vector<int64_t> er(n_layers, 0), ew(n_layers, 0), xw(n_layers, 0), rf(n_layers, 0), wf(n_layers, 0);
  std::vector<char> done(n_layers, 0), ok(n_layers, 0);
  std::vector<int64_t> active;
  active.reserve(n_layers);
  int64_t n_done = 0;
  for (int64_t l = 0; l < n_layers; l++) {
    r[l] = run_off[l];
    if (run_off[l] == run_off[l + 1]) {  // empty program: nothing to do
      done[l] = 1;
      n_done++;
      for (int64_t k = 0; k < frames; k++) frame_start[l * frames + k] = frame_end[l * frames + k] = 0;
    } else {
      rem[l] = run_len[r[l]];
    }
  }
  int64_t t = 0;
  int64_t status = 2;
  while (t < max_cycles) {
    if (n_done == n_layers) {
      status = 0;
      break;
    }
    int64_t wake = INT64_MAX;
    active.clear();
    // phase 1: decide on the counts at the start of the cycle
    for (int64_t l = 0; l < n_layers; l++) {
      if (done[l]) continue;
      const bool bubble = r[l] == run_off[l + 1];
      if (!bubble && period[l] > 0 && (it[l] == 0 || spread[l])) {
        // throttled source: frame f starts at f * period; spread: word j of W at f * period + j * period / W
        const int64_t start = f[l] * period[l] + (spread[l] ? it[l] * period[l] / iters[l] : 0);
        if (t < start) {
          wake = std::min(wake, start);
          continue;
        }
      }
      const int64_t enter_r = bubble ? 0 : run_r[r[l]];
      const int64_t enter_w = bubble ? 0 : (run_w[r[l]] | OCCUPIED);
      const int64_t exit_w = (lat[l] > 0 ? ring[ring_off[l] + pos[l]] : enter_w) & ~OCCUPIED;
      int64_t rfail = 0, wfail = 0;
      for (int64_t m = enter_r; m; m &= m - 1) {
        const int k = __builtin_ctzll(m);
        if (count[in_stream[in_off[l] + k]] == 0) rfail |= int64_t(1) << k;
      }
      for (int64_t m = exit_w; m; m &= m - 1) {
        const int k = __builtin_ctzll(m);
        const int64_t s = out_stream[out_off[l] + k];
        if (count[s] >= cap[s]) wfail |= int64_t(1) << k;
      }
      rf[l] = rfail;
      wf[l] = wfail;
      if (rfail | wfail) {
        stats[4 * l + (rfail ? 1 : 2)]++;
        continue;
      }
      er[l] = enter_r;
      ew[l] = enter_w;
      xw[l] = exit_w;
      active.push_back(l);
    }
    if (active.empty()) {
      if (wake != INT64_MAX) {  // only throttled sources can go on: jump to the next start time
        t = wake;
        continue;
      }
      status = 1;
      break;
    }
    // phase 2a: writes (the occupancy counts the word written plus those present at the cycle start)
    for (int64_t l : active) {
      for (int64_t m = xw[l]; m; m &= m - 1) {
        const int64_t s = out_stream[out_off[l] + __builtin_ctzll(m)];
        const int64_t occ = ++count[s];
        if (occ > maxocc[s]) maxocc[s] = occ;
      }
    }
    // phase 2b: reads, pipeline shift, program counters, frame boundaries
    for (int64_t l : active) {
      for (int64_t m = er[l]; m; m &= m - 1) count[in_stream[in_off[l] + __builtin_ctzll(m)]]--;
      const int64_t enter_w = ew[l];
      if (lat[l] > 0) {
        int64_t& slot = ring[ring_off[l] + pos[l]];
        pending[l] += (enter_w != 0) - (slot != 0);
        slot = enter_w;
        if (++pos[l] == lat[l]) pos[l] = 0;
      }
      if (enter_w != 0) {
        if (it[l] == 0) frame_start[l * frames + f[l]] = t;
        it[l]++;
        stats[4 * l + 0]++;
        if (--rem[l] == 0 && ++r[l] < run_off[l + 1]) rem[l] = run_len[r[l]];
      } else {
        stats[4 * l + 3]++;
      }
      if (r[l] == run_off[l + 1] && pending[l] == 0) {
        frame_end[l * frames + f[l]] = t;
        if (++f[l] == frames) {
          done[l] = 1;
          n_done++;
        } else {
          r[l] = run_off[l];
          rem[l] = run_len[r[l]];
          it[l] = 0;
        }
      }
    }
    t++;
  }
  if (status == 2 && n_done == n_layers) status = 0;
  for (int64_t l = 0; l < n_layers; l++) {
    state[4 * l + 0] = f[l];
    state[4 * l + 1] = it[l];
    state[4 * l + 2] = done[l] ? 0 : rf[l];
    state[4 * l + 3] = done[l] ? 0 : wf[l];
  }
  *cycles_out = t;
  return status;
}
