// Data-parallel training over c10d, the library under torch.distributed: a TCPStore or FileStore
// for the rendezvous, ProcessGroupGloo for the collectives, and DDP's Reducer, which all-reduces
// gradient buckets from autograd hooks while backward still runs (torch's DistributedDataParallel
// in C++ without its Python wrapper). Handles are heap-allocated intrusive_ptr/shared_ptr owners.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"
#include "handles.h"
#include "mlnetseg_native.h"

namespace {
using StorePtr = c10::intrusive_ptr<c10d::Store>;
using GroupPtr = c10::intrusive_ptr<c10d::ProcessGroup>;
// DDP's defaults (torch/nn/parallel/distributed.py): a small first bucket so communication starts
// early in backward, 25 MiB after that; rank 0's state is broadcast in 250 MiB chunks.
constexpr size_t kFirstBucketBytes = 1024 * 1024;
constexpr size_t kBroadcastBucketBytes = 250 * 1024 * 1024;

StorePtr& S(void* h) { return *static_cast<StorePtr*>(h); }
GroupPtr& G(void* h) { return *static_cast<GroupPtr*>(h); }
std::shared_ptr<c10d::Reducer>& R(void* h) { return *static_cast<std::shared_ptr<c10d::Reducer>*>(h); }

std::vector<at::Tensor> tensors_of(const mls_tensor* handles, int n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (int i = 0; i < n; i++) {
    TORCH_CHECK(handles[i] != nullptr, "tensor ", i, " of the list is a null handle (was it disposed?)");
    out.push_back(mls::T(handles[i]));
  }
  return out;
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& spec) {
  const std::string host = "host:", iface = "interface:";
  if (spec.rfind(host, 0) == 0) return c10d::ProcessGroupGloo::createDeviceForHostname(spec.substr(host.size()));
  if (spec.rfind(iface, 0) == 0) return c10d::ProcessGroupGloo::createDeviceForInterface(spec.substr(iface.size()));
  TORCH_CHECK(spec.empty(), "Gloo device '", spec, "' is neither host:NAME, interface:NAME nor empty");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
}  // namespace

extern "C" {

int mls_dist_available(void) { return 1; }

mls_store mls_dist_tcp_store(const char* host, int port, int world_size, int is_server, int64_t timeout_ms) {
  MLS_GUARD(nullptr, {
    TORCH_CHECK(host != nullptr && *host, "the rendezvous host is empty");
    TORCH_CHECK(port > 0 && port < 65536, "the rendezvous port must be in 1..65535, got ", port);
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(port);
    options.isServer = is_server != 0;
    options.numWorkers = static_cast<size_t>(world_size);
    options.waitWorkers = true;
    options.timeout = std::chrono::milliseconds(timeout_ms);
    StorePtr store = c10::make_intrusive<c10d::TCPStore>(std::string(host), options);
    return new StorePtr(std::move(store));
  })
}

mls_store mls_dist_file_store(const char* path, int world_size) {
  MLS_GUARD(nullptr, {
    TORCH_CHECK(path != nullptr && *path, "the rendezvous file path is empty");
    StorePtr store = c10::make_intrusive<c10d::FileStore>(std::string(path), world_size);
    return new StorePtr(std::move(store));
  })
}

void mls_dist_store_free(mls_store store) { delete static_cast<StorePtr*>(store); }

mls_process_group mls_dist_gloo(mls_store store, int rank, int world_size, const char* device, int64_t timeout_ms) {
  MLS_CHECK_HANDLE(store, nullptr);
  MLS_GUARD(nullptr, {
    TORCH_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "rank ", rank, " is not in a world of ", world_size);
    auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::milliseconds(timeout_ms));
    options->devices.push_back(gloo_device(device ? device : ""));
    GroupPtr group = c10::make_intrusive<c10d::ProcessGroupGloo>(S(store), rank, world_size, options);
    return new GroupPtr(std::move(group));
  })
}

void mls_dist_process_group_free(mls_process_group group) { delete static_cast<GroupPtr*>(group); }

int mls_dist_allreduce(mls_process_group group, const mls_tensor* tensors, int n, int op) {
  MLS_CHECK_HANDLE(group, -1);
  MLS_GUARD(-1, {
    // Our numbering (the header's), not c10d's enum, whose values move between versions.
    static const c10d::ReduceOp::RedOpType ops[] = {c10d::ReduceOp::SUM, c10d::ReduceOp::PRODUCT, c10d::ReduceOp::MIN,
                                                    c10d::ReduceOp::MAX};
    TORCH_CHECK(op >= 0 && op <= 3, "unknown reduce op ", op);
    auto list = tensors_of(tensors, n);
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp(ops[op]);
    // One collective per tensor: Gloo's allreduce takes a list of tensors of one size and
    // reduces them into each other (one tensor per device), not element-wise per list entry.
    for (auto& t : list) {
      std::vector<at::Tensor> one{t};
      G(group)->allreduce(one, options)->wait();
    }
    return 0;
  })
}

int mls_dist_broadcast(mls_process_group group, const mls_tensor* tensors, int n, int root) {
  MLS_CHECK_HANDLE(group, -1);
  MLS_GUARD(-1, {
    auto list = tensors_of(tensors, n);
    // Parameters are leaves that require grad: overwrite them in place outside autograd.
    c10::AutoGradMode no_grad(false);
    c10d::broadcast_coalesced(G(group), list, kBroadcastBucketBytes, root);
    return 0;
  })
}

int mls_dist_barrier(mls_process_group group) {
  MLS_CHECK_HANDLE(group, -1);
  MLS_GUARD(-1, {
    G(group)->barrier()->wait();
    return 0;
  })
}

mls_reducer mls_dist_reducer_new(mls_process_group group, const mls_tensor* params, int n, int64_t bucket_cap_bytes,
                                 int find_unused_parameters) {
  MLS_CHECK_HANDLE(group, nullptr);
  MLS_GUARD(nullptr, {
    auto list = tensors_of(params, n);
    TORCH_CHECK(!list.empty(), "no parameter to reduce");
    for (size_t i = 0; i < list.size(); i++)
      TORCH_CHECK(list[i].requires_grad(), "parameter ", i, " does not require grad (pass only trainable parameters)");
    // As DistributedDataParallel.__init__: same parameters everywhere, rank 0's values broadcast,
    // buckets assigned in parameter order and reversed (gradients arrive roughly in reverse order).
    c10d::verify_params_across_processes(G(group), list, c10::nullopt);
    {
      c10::AutoGradMode no_grad(false);
      c10d::broadcast_coalesced(G(group), list, kBroadcastBucketBytes, 0);
    }
    std::vector<bool> sparse(list.size(), false);
    auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(
        list, {kFirstBucketBytes, static_cast<size_t>(bucket_cap_bytes)}, sparse);
    std::reverse(buckets.begin(), buckets.end());
    std::reverse(limits.begin(), limits.end());
    auto reducer = std::make_shared<c10d::Reducer>(list, std::move(buckets), std::move(limits), G(group), sparse,
                                                   bucket_cap_bytes, find_unused_parameters != 0,
                                                   /*gradient_as_bucket_view=*/false,
                                                   std::unordered_map<size_t, std::string>{},
                                                   static_cast<int64_t>(kFirstBucketBytes));
    return new std::shared_ptr<c10d::Reducer>(std::move(reducer));
  })
}

int mls_dist_reducer_prepare_for_forward(mls_reducer reducer) {
  MLS_CHECK_HANDLE(reducer, -1);
  MLS_GUARD(-1, {
    R(reducer)->prepare_for_forward();
    return 0;
  })
}

int mls_dist_reducer_prepare_for_backward(mls_reducer reducer, const mls_tensor* outputs, int n) {
  MLS_CHECK_HANDLE(reducer, -1);
  MLS_GUARD(-1, {
    R(reducer)->prepare_for_backward(tensors_of(outputs, n));
    return 0;
  })
}

void mls_dist_reducer_free(mls_reducer reducer) {
  // ~Reducer is noexcept(false) (it removes its autograd hooks); an error there must not cross
  // the C ABI either.
  try {
    delete static_cast<std::shared_ptr<c10d::Reducer>*>(reducer);
  } catch (...) {
  }
}

}  // extern "C"
