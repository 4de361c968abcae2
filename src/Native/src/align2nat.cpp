// TensorMask's swap_align2nat as one fused CPU kernel, registered with the dispatcher as
// mlnetseg::swap_align2nat (forward, and backward through an autograd function), so C# calls it by
// name like any aten op. The sampling is the composed op's (src/Vision/Ops/Align2Nat.cs), which is
// detectron2's CUDA kernel's: output mask pixel (v, u) of the window at (y, x) reads the input
// bilinearly in all four coordinates at (v + 0.5)/λ − 0.5, (u + 0.5)/λ − 0.5, y·λ + v − λV/2 + 0.5,
// x·λ + u − λU/2 + 0.5 (float32 coordinates); a tap outside the input in any coordinate reads the pad.
// One read per tap and one write per output element, where the composed op makes about ten passes.
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

// Two bilinear taps per output position: indices (−1 = outside) and weights, the composed op's arithmetic.
struct Taps {
  std::vector<int64_t> low, high;
  std::vector<double> low_weight, high_weight;
  explicit Taps(int64_t n) : low(n), high(n), low_weight(n), high_weight(n) {}
  void set(int64_t i, float o, int64_t size) {
    const int64_t f = static_cast<int64_t>(std::floor(o)), c = static_cast<int64_t>(std::ceil(o));
    high_weight[i] = static_cast<double>(o - static_cast<float>(f));  // in float, as the composed op (and the kernel) computes it
    low_weight[i] = 1.0 - high_weight[i];
    low[i] = f >= 0 && f < size ? f : -1;
    high[i] = c >= 0 && c < size ? c : -1;
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
  for (int64_t v = 0; v < out_side; v++) {
    const float o = static_cast<float>(v - half + 0.5);
    const int64_t f = static_cast<int64_t>(std::floor(o)), c = static_cast<int64_t>(std::ceil(o));
    t.high_weight[v] = static_cast<double>(o - static_cast<float>(f));
    t.low_weight[v] = 1.0 - t.high_weight[v];
    t.low[v] = f;
    t.high[v] = c;
  }
  return t;
}

struct Geometry {
  int64_t n, side, h, w, lambda, out_side, h_out, w_out;
  Geometry(const at::IntArrayRef sizes, int64_t lambda_) {
    n = sizes[0];
    side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(sizes[1]))));
    TORCH_CHECK(side >= 1 && side * side == sizes[1], "mlnetseg::swap_align2nat: the channel count ", sizes[1], " is not a square V·U");
    h = sizes[2];
    w = sizes[3];
    lambda = lambda_;
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

// Calls visit(channel, in_row, in_col, out_index, weight) for every inside tap of output plane (n, vo·So + uo), the tap
// tables shared by forward and backward; weights of zero are skipped.
template <typename Visit>
inline void for_each_tap(const Geometry& g, const Taps& cells, const Taps& offsets, int64_t vo, int64_t uo, Visit&& visit) {
  for (int tv = 0; tv < 2; tv++) {
    const int64_t cv = tv == 0 ? cells.low[vo] : cells.high[vo];
    const double wv = tv == 0 ? cells.low_weight[vo] : cells.high_weight[vo];
    if (cv < 0 || wv == 0) continue;
    for (int tu = 0; tu < 2; tu++) {
      const int64_t cu = tu == 0 ? cells.low[uo] : cells.high[uo];
      const double wu = tu == 0 ? cells.low_weight[uo] : cells.high_weight[uo];
      if (cu < 0 || wu == 0) continue;
      const int64_t channel = cv * g.side + cu;
      for (int ty = 0; ty < 2; ty++) {
        const int64_t dy = ty == 0 ? offsets.low[vo] : offsets.high[vo];
        const double wy = ty == 0 ? offsets.low_weight[vo] : offsets.high_weight[vo];
        if (wy == 0) continue;
        for (int tx = 0; tx < 2; tx++) {
          const int64_t dx = tx == 0 ? offsets.low[uo] : offsets.high[uo];
          const double wx = tx == 0 ? offsets.low_weight[uo] : offsets.high_weight[uo];
          if (wx == 0) continue;
          visit(channel, dy, dx, wv * wu * wy * wx);
        }
      }
    }
  }
}

at::Tensor forward_cpu(const at::Tensor& input_, int64_t lambda, double pad) {
  TORCH_CHECK(input_.dim() == 4, "mlnetseg::swap_align2nat: input must be [N, V·U, H, W], got ", input_.sizes());
  TORCH_CHECK(lambda >= 1, "mlnetseg::swap_align2nat: lambda must be at least 1, got ", lambda);
  TORCH_CHECK(input_.is_floating_point(), "mlnetseg::swap_align2nat: input must be floating point");
  const auto input = input_.contiguous();
  const Geometry g(input.sizes(), lambda);
  auto output = at::empty({g.n, g.out_side * g.out_side, g.h_out, g.w_out}, input.options());
  const Taps cells = cell_taps(g.side, lambda), offsets = offset_taps(g.out_side);
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "mlnetseg::swap_align2nat", [&] {
    const scalar_t* in = input.data_ptr<scalar_t>();
    scalar_t* out = output.data_ptr<scalar_t>();
    const int64_t plane = g.h * g.w, out_plane = g.h_out * g.w_out;
    // One work item per (n, vo): the planes vo·So .. vo·So + So − 1 of image n, written by nobody else.
    at::parallel_for(0, g.n * g.out_side, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> acc(out_plane);
      for (int64_t item = begin; item < end; item++) {
        const int64_t n = item / g.out_side, vo = item % g.out_side;
        for (int64_t uo = 0; uo < g.out_side; uo++) {
          std::fill(acc.begin(), acc.end(), 0.0);
          for_each_tap(g, cells, offsets, vo, uo, [&](int64_t channel, int64_t dy, int64_t dx, double weight) {
            const scalar_t* src = in + (n * g.side * g.side + channel) * plane;
            for (int64_t yo = 0; yo < g.h_out; yo++) {
              const int64_t row = yo * lambda + dy;
              if (row < 0 || row >= g.h) continue;
              const scalar_t* line = src + row * g.w;
              double* dst = acc.data() + yo * g.w_out;
              const auto [first, last] = column_range(dx, lambda, g.w, g.w_out);
              for (int64_t xo = first; xo < last; xo++) dst[xo] += weight * (static_cast<double>(line[xo * lambda + dx]) - pad);
            }
          });
          scalar_t* dst = out + (n * g.out_side * g.out_side + vo * g.out_side + uo) * out_plane;
          for (int64_t i = 0; i < out_plane; i++) dst[i] = static_cast<scalar_t>(acc[i] + pad);
        }
      }
    });
  });
  return output;
}

// The gradient of forward_cpu: every output gradient, weighted, back to its inside taps (the pad is a constant).
at::Tensor backward_cpu(const at::Tensor& grad_, int64_t lambda, at::IntArrayRef input_sizes) {
  const auto grad = grad_.contiguous();
  const Geometry g(input_sizes, lambda);
  auto grad_input = at::zeros(input_sizes, grad.options());
  const Taps cells = cell_taps(g.side, lambda), offsets = offset_taps(g.out_side);
  // Which output cells vo read input cell cv (each reads at most two).
  std::vector<std::vector<int64_t>> readers(g.side);
  for (int64_t vo = 0; vo < g.out_side; vo++) {
    if (cells.low[vo] >= 0) readers[cells.low[vo]].push_back(vo);
    if (cells.high[vo] >= 0 && cells.high[vo] != cells.low[vo]) readers[cells.high[vo]].push_back(vo);
  }
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "mlnetseg::swap_align2nat_backward", [&] {
    const scalar_t* go = grad.data_ptr<scalar_t>();
    scalar_t* gi = grad_input.data_ptr<scalar_t>();
    const int64_t plane = g.h * g.w, out_plane = g.h_out * g.w_out;
    // One work item per (n, cv): the input planes cv·U .. cv·U + U − 1 of image n, written by nobody else.
    at::parallel_for(0, g.n * g.side, 1, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; item++) {
        const int64_t n = item / g.side, cv_owned = item % g.side;
        for (const int64_t vo : readers[cv_owned])
          for (int64_t uo = 0; uo < g.out_side; uo++) {
            const scalar_t* src = go + (n * g.out_side * g.out_side + vo * g.out_side + uo) * out_plane;
            for_each_tap(g, cells, offsets, vo, uo, [&](int64_t channel, int64_t dy, int64_t dx, double weight) {
              if (channel / g.side != cv_owned) return;
              scalar_t* dst = gi + (n * g.side * g.side + channel) * plane;
              for (int64_t yo = 0; yo < g.h_out; yo++) {
                const int64_t row = yo * lambda + dy;
                if (row < 0 || row >= g.h) continue;
                scalar_t* line = dst + row * g.w;
                const scalar_t* grad_row = src + yo * g.w_out;
                const auto [first, last] = column_range(dx, lambda, g.w, g.w_out);
                for (int64_t xo = first; xo < last; xo++)
                  line[xo * lambda + dx] += static_cast<scalar_t>(weight * static_cast<double>(grad_row[xo]));
              }
            });
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
