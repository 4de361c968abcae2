// TensorMask's swap_align2nat as one fused CPU kernel, registered with the dispatcher as
// mlnetseg::swap_align2nat (forward, and backward through an autograd function), so C# calls it by
// name like any aten op. The sampling is the composed op's (src/Vision/Ops/Align2Nat.cs), which is
// detectron2's CUDA kernel's: output mask pixel (v, u) of the window at (y, x) reads the input
// bilinearly in all four coordinates at (v + 0.5)/λ − 0.5, (u + 0.5)/λ − 0.5, y·λ + v − λV/2 + 0.5,
// x·λ + u − λU/2 + 0.5 (float32 coordinates); a tap outside the input in any coordinate reads the pad.
// Two separable passes of 4 taps each, as the composed op, but as plain loops: no reordering copies, no index tables.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace {

// Two bilinear taps per output position: indices and weights, the composed op's arithmetic.
struct Taps {
  std::vector<int64_t> low, high;
  std::vector<double> low_weight, high_weight;
  explicit Taps(int64_t n) : low(n), high(n), low_weight(n), high_weight(n) {}
  // Taps at o: floor and ceil, the ceil tap weighted o − floor (in float, as the composed op and the kernel compute it); with a
  // size, an index outside [0, size) becomes −1.
  void set(int64_t i, float o, int64_t size = -1) {
    const int64_t f = static_cast<int64_t>(std::floor(o)), c = static_cast<int64_t>(std::ceil(o));
    high_weight[i] = static_cast<double>(o - static_cast<float>(f));
    low_weight[i] = 1.0 - high_weight[i];
    low[i] = size < 0 || (f >= 0 && f < size) ? f : -1;
    high[i] = size < 0 || (c >= 0 && c < size) ? c : -1;
  }
};

// Mask cell taps: output cell v reads input cell (v + 0.5)/λ − 0.5.
Taps cell_taps(int64_t in_side, int64_t lambda) {
  const int64_t out_side = in_side * lambda;
  Taps t(out_side);
  for (int64_t v = 0; v < out_side; v++) t.set(v, static_cast<float>((v + 0.5) / static_cast<double>(lambda) - 0.5), in_side);
  return t;
}

// Spatial offsets: output row y at cell v reads rows y·λ + low[v] and y·λ + high[v] (no bounds here: the
// fractional part of y·λ + v − λV/2 + 0.5 does not depend on y).
Taps offset_taps(int64_t out_side) {
  Taps t(out_side);
  const float half = static_cast<float>(out_side) / 2.0f;
  for (int64_t v = 0; v < out_side; v++) t.set(v, static_cast<float>(v - half + 0.5));
  return t;
}

struct Geometry {
  int64_t n, side, h, w, out_side, h_out, w_out;
  Geometry(const at::IntArrayRef sizes, int64_t lambda) {
    n = sizes[0];
    side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(sizes[1]))));
    TORCH_CHECK(side >= 1 && side * side == sizes[1], "mlnetseg::swap_align2nat: the channel count ", sizes[1], " is not a square V·U");
    h = sizes[2];
    w = sizes[3];
    out_side = side * lambda;
    h_out = (h + lambda - 1) / lambda;
    w_out = (w + lambda - 1) / lambda;
  }
};

// The output columns xo whose input column xo·λ + dx lies in [0, W): [first, last).
inline std::pair<int64_t, int64_t> column_range(int64_t dx, int64_t lambda, int64_t w, int64_t w_out) {
  const int64_t first = dx >= 0 ? 0 : (-dx + lambda - 1) / lambda;
  const int64_t room = w - 1 - dx;
  return {first, room < 0 ? 0 : std::min(w_out, room / lambda + 1)};
}

// The (output cell, tap) pairs of one axis with a non-zero weight: cell index (inside), spatial offset, weight = cell weight ×
// offset weight. Two cell taps × two offset taps per output cell.
struct AxisTap {
  int64_t cell, offset;
  double weight;
};

std::vector<std::vector<AxisTap>> axis_taps(const Taps& cells, const Taps& offsets) {
  std::vector<std::vector<AxisTap>> taps(cells.low.size());
  for (size_t v = 0; v < taps.size(); v++)
    for (int tc = 0; tc < 2; tc++) {
      const int64_t cell = tc == 0 ? cells.low[v] : cells.high[v];
      const double wc = tc == 0 ? cells.low_weight[v] : cells.high_weight[v];
      if (cell < 0 || wc == 0) continue;
      for (int to = 0; to < 2; to++) {
        const double wo = to == 0 ? offsets.low_weight[v] : offsets.high_weight[v];
        if (wo == 0) continue;
        taps[v].push_back({cell, to == 0 ? offsets.low[v] : offsets.high[v], wc * wo});
      }
    }
  return taps;
}

// Two separable passes, as the composed op, each a plain loop with no reordering copy:
//   pass 1, (U, W) → (Uo, Wo): t[n, v, uo, y, xo] = Σ taps of uo: w · (in[n, v·U + cu, y, xo·λ + dx] − pad)
//   pass 2, (V, H) → (Vo, Ho): out[n, vo·Uo + uo, yo, xo] = pad + Σ taps of vo: w · t[n, cv, uo, yo·λ + dy, xo]
// Pass 2's inner loop runs over contiguous xo in t and out. Values are taken relative to the pad, so an outside tap adds nothing.
at::Tensor forward_cpu(const at::Tensor& input_, int64_t lambda, double pad) {
  TORCH_CHECK(input_.dim() == 4, "mlnetseg::swap_align2nat: input must be [N, V·U, H, W], got ", input_.sizes());
  TORCH_CHECK(lambda >= 1, "mlnetseg::swap_align2nat: lambda must be at least 1, got ", lambda);
  TORCH_CHECK(input_.is_floating_point(), "mlnetseg::swap_align2nat: input must be floating point");
  const auto input = input_.contiguous();
  const Geometry g(input.sizes(), lambda);
  const auto taps = axis_taps(cell_taps(g.side, lambda), offset_taps(g.out_side));
  auto t = at::zeros({g.n, g.side, g.out_side, g.h, g.w_out}, input.options());
  auto output = at::empty({g.n, g.out_side * g.out_side, g.h_out, g.w_out}, input.options());
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "mlnetseg::swap_align2nat", [&] {
    const scalar_t* in = input.data_ptr<scalar_t>();
    scalar_t* tp = t.data_ptr<scalar_t>();
    scalar_t* out = output.data_ptr<scalar_t>();
    const scalar_t p = static_cast<scalar_t>(pad);
    const int64_t plane = g.h * g.w, t_plane = g.h * g.w_out, out_plane = g.h_out * g.w_out;
    // Pass 1: one work item per t plane (n, v, uo).
    at::parallel_for(0, g.n * g.side * g.out_side, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; item++) {
        const int64_t uo = item % g.out_side, nv = item / g.out_side;   // nv = n·V + v
        scalar_t* dst = tp + item * t_plane;
        for (const auto& tap : taps[uo]) {
          const scalar_t* src = in + (nv * g.side + tap.cell) * plane;
          const scalar_t w = static_cast<scalar_t>(tap.weight);
          const auto [first, last] = column_range(tap.offset, lambda, g.w, g.w_out);
          for (int64_t y = 0; y < g.h; y++) {
            const scalar_t* line = src + y * g.w + tap.offset;
            scalar_t* row = dst + y * g.w_out;
            for (int64_t xo = first; xo < last; xo++) row[xo] += w * (line[xo * lambda] - p);
          }
        }
      }
    });
    // Pass 2: one work item per output plane (n, vo, uo).
    at::parallel_for(0, g.n * g.out_side * g.out_side, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; item++) {
        const int64_t uo = item % g.out_side, vo = (item / g.out_side) % g.out_side, n = item / (g.out_side * g.out_side);
        scalar_t* dst = out + item * out_plane;
        std::fill(dst, dst + out_plane, p);
        for (const auto& tap : taps[vo]) {
          const scalar_t* src = tp + ((n * g.side + tap.cell) * g.out_side + uo) * t_plane;
          const scalar_t w = static_cast<scalar_t>(tap.weight);
          for (int64_t yo = 0; yo < g.h_out; yo++) {
            const int64_t y = yo * lambda + tap.offset;
            if (y < 0 || y >= g.h) continue;
            const scalar_t* line = src + y * g.w_out;
            scalar_t* row = dst + yo * g.w_out;
            for (int64_t xo = 0; xo < g.w_out; xo++) row[xo] += w * line[xo];
          }
        }
      }
    });
  });
  return output;
}

// The gradient of forward_cpu, its passes transposed (the pad is a constant): each work item owns the rows it writes.
at::Tensor backward_cpu(const at::Tensor& grad_, int64_t lambda, at::IntArrayRef input_sizes) {
  const auto grad = grad_.contiguous();
  const Geometry g(input_sizes, lambda);
  const auto taps = axis_taps(cell_taps(g.side, lambda), offset_taps(g.out_side));
  // readers[c]: the (output cell, tap) pairs that read input cell c.
  std::vector<std::vector<std::pair<int64_t, AxisTap>>> readers(g.side);
  for (int64_t o = 0; o < g.out_side; o++)
    for (const auto& tap : taps[o]) readers[tap.cell].push_back({o, tap});
  auto grad_t = at::zeros({g.n, g.side, g.out_side, g.h, g.w_out}, grad.options());
  auto grad_input = at::zeros(input_sizes, grad.options());
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "mlnetseg::swap_align2nat_backward", [&] {
    const scalar_t* go = grad.data_ptr<scalar_t>();
    scalar_t* gt = grad_t.data_ptr<scalar_t>();
    scalar_t* gi = grad_input.data_ptr<scalar_t>();
    const int64_t plane = g.h * g.w, t_plane = g.h * g.w_out, out_plane = g.h_out * g.w_out;
    // Pass 2 transposed: work item (n, cv, uo) owns grad_t's plane there.
    at::parallel_for(0, g.n * g.side * g.out_side, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; item++) {
        const int64_t uo = item % g.out_side, cv = (item / g.out_side) % g.side, n = item / (g.out_side * g.side);
        scalar_t* dst = gt + item * t_plane;
        for (const auto& [vo, tap] : readers[cv]) {
          const scalar_t* src = go + ((n * g.out_side + vo) * g.out_side + uo) * out_plane;
          const scalar_t w = static_cast<scalar_t>(tap.weight);
          for (int64_t yo = 0; yo < g.h_out; yo++) {
            const int64_t y = yo * lambda + tap.offset;
            if (y < 0 || y >= g.h) continue;
            scalar_t* line = dst + y * g.w_out;
            const scalar_t* row = src + yo * g.w_out;
            for (int64_t xo = 0; xo < g.w_out; xo++) line[xo] += w * row[xo];
          }
        }
      }
    });
    // Pass 1 transposed: work item (n, v, cu) owns the input gradient's plane there.
    at::parallel_for(0, g.n * g.side * g.side, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; item++) {
        const int64_t cu = item % g.side, nv = item / g.side;
        scalar_t* dst = gi + item * plane;
        for (const auto& [uo, tap] : readers[cu]) {
          const scalar_t* src = gt + (nv * g.out_side + uo) * t_plane;
          const scalar_t w = static_cast<scalar_t>(tap.weight);
          const auto [first, last] = column_range(tap.offset, lambda, g.w, g.w_out);
          for (int64_t y = 0; y < g.h; y++) {
            scalar_t* line = dst + y * g.w + tap.offset;
            const scalar_t* row = src + y * g.w_out;
            for (int64_t xo = first; xo < last; xo++) line[xo * lambda] += w * row[xo];
          }
        }
      }
    });
  });
  return grad_input;
}

class SwapAlign2NatFunction : public torch::autograd::Function<SwapAlign2NatFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, int64_t lambda, double pad) {
    ctx->saved_data["lambda"] = lambda;
    ctx->saved_data["sizes"] = input.sizes().vec();
    at::AutoDispatchBelowADInplaceOrView guard;
    static auto op = c10::Dispatcher::singleton().findSchemaOrThrow("mlnetseg::swap_align2nat", "").typed<at::Tensor(const at::Tensor&, int64_t, double)>();
    return op.call(input, lambda, pad);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto lambda = ctx->saved_data["lambda"].toInt();
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    return {backward_cpu(grads[0], lambda, sizes), at::Tensor(), at::Tensor()};
  }
};

at::Tensor forward_autograd(const at::Tensor& input, int64_t lambda, double pad) {
  return SwapAlign2NatFunction::apply(input, lambda, pad);
}

}  // namespace

TORCH_LIBRARY(mlnetseg, m) {
  m.def("swap_align2nat(Tensor input, int lambda_, float pad) -> Tensor");
}

TORCH_LIBRARY_IMPL(mlnetseg, CPU, m) {
  m.impl("swap_align2nat", forward_cpu);
}

TORCH_LIBRARY_IMPL(mlnetseg, Autograd, m) {
  m.impl("swap_align2nat", forward_autograd);
}
