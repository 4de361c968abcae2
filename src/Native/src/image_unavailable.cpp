// Image IO for a shim built with MLNETSEG_IMAGE_IO=OFF (a GPU host without OpenCV's C++ libraries):
// every call fails with a message the managed side turns into an exception.
#include "errors.h"
#include "mlnetseg_native.h"

namespace {
int unavailable() {
  mls::set_error("this libmlnetseg_native was built without image IO (MLNETSEG_IMAGE_IO=OFF); rebuild it with OpenCV");
  return -1;
}
}  // namespace

extern "C" {

int mls_image_decode(const uint8_t*, int64_t, int, uint8_t**, int*, int*, int*) { return unavailable(); }

int mls_image_encode_png(const uint8_t*, int, int, int, uint8_t**, int64_t*) { return unavailable(); }

int mls_image_resize(const uint8_t*, int, int, int, uint8_t*, int, int, int) { return unavailable(); }

}  // extern "C"
