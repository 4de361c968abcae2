// Stand-ins for a libtorch without c10d/Gloo headers (MLNETSEG_DISTRIBUTED=OFF): every call fails
// with a managed exception saying how to get distributed training.
#include "errors.h"
#include "mlnetseg_native.h"

namespace {
const char* kMessage =
    "this build of the native library has no distributed training (c10d/Gloo): install libgloo-dev "
    "(tools/setup.sh does) and rebuild it with -DMLNETSEG_DISTRIBUTED=ON";
}

extern "C" {
int mls_dist_available(void) { return 0; }
mls_store mls_dist_tcp_store(const char*, int, int, int, int64_t) { mls::set_error(kMessage); return nullptr; }
mls_store mls_dist_file_store(const char*, int) { mls::set_error(kMessage); return nullptr; }
void mls_dist_store_free(mls_store) {}
mls_process_group mls_dist_gloo(mls_store, int, int, const char*, int64_t) { mls::set_error(kMessage); return nullptr; }
void mls_dist_process_group_free(mls_process_group) {}
int mls_dist_allreduce(mls_process_group, const mls_tensor*, int, int) { mls::set_error(kMessage); return -1; }
int mls_dist_broadcast(mls_process_group, const mls_tensor*, int, int) { mls::set_error(kMessage); return -1; }
int mls_dist_barrier(mls_process_group) { mls::set_error(kMessage); return -1; }
mls_reducer mls_dist_reducer_new(mls_process_group, const mls_tensor*, int, int64_t, int) { mls::set_error(kMessage); return nullptr; }
int mls_dist_reducer_prepare_for_forward(mls_reducer) { mls::set_error(kMessage); return -1; }
int mls_dist_reducer_prepare_for_backward(mls_reducer, const mls_tensor*, int) { mls::set_error(kMessage); return -1; }
void mls_dist_reducer_free(mls_reducer) {}
}
