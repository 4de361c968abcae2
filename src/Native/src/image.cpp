// Image codec through OpenCV. Pixels cross the ABI as HWC uint8 in RGB(A) order.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "mlnetseg_native.h"

namespace {
bool is_jpeg(const uint8_t* b, int64_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

uint8_t* copy_out(const cv::Mat& m) {
  size_t nbytes = m.total() * m.elemSize();
  auto p = static_cast<uint8_t*>(std::malloc(std::max<size_t>(nbytes, 1)));
  if (m.isContinuous()) {
    std::memcpy(p, m.data, nbytes);
  } else {
    size_t row = m.cols * m.elemSize();
    for (int y = 0; y < m.rows; y++) std::memcpy(p + y * row, m.ptr(y), row);
  }
  return p;
}
}  // namespace

extern "C" {

// flags: 0 = keep the file's channels (grey 1, colour 3, with alpha 4); 1 = always RGB.
int mls_image_decode(const uint8_t* bytes, int64_t nbytes, int flags, uint8_t** pixels, int* height,
                     int* width, int* channels) {
  MLS_GUARD(-1, {
    cv::Mat buf(1, static_cast<int>(nbytes), CV_8U, const_cast<uint8_t*>(bytes));
    // JPEGs go through IMREAD_ANYCOLOR so OpenCV applies the EXIF orientation (it skips it
    // for IMREAD_UNCHANGED); other formats keep their alpha channel with IMREAD_UNCHANGED.
    int mode = flags == 1 ? cv::IMREAD_COLOR : (is_jpeg(bytes, nbytes) ? cv::IMREAD_ANYCOLOR : cv::IMREAD_UNCHANGED);
    cv::Mat img = cv::imdecode(buf, mode);
    if (img.empty()) {
      mls::set_error("not a decodable image (corrupt, truncated or unsupported format)");
      return -1;
    }
    if (img.depth() != CV_8U) {
      mls::set_error("only 8-bit images are supported, got bit depth " +
                     std::to_string(img.depth() == CV_16U ? 16 : 32));
      return -1;
    }
    cv::Mat rgb;
    switch (img.channels()) {
      case 1: rgb = img; break;
      case 3: cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB); break;
      case 4: cv::cvtColor(img, rgb, cv::COLOR_BGRA2RGBA); break;
      default:
        mls::set_error("unsupported channel count " + std::to_string(img.channels()));
        return -1;
    }
    *height = rgb.rows;
    *width = rgb.cols;
    *channels = rgb.channels();
    *pixels = copy_out(rgb);
    return 0;
  })
}

int mls_image_encode_png(const uint8_t* pixels, int height, int width, int channels, uint8_t** out,
                         int64_t* nbytes) {
  MLS_GUARD(-1, {
    if (channels != 1 && channels != 3 && channels != 4) {
      mls::set_error("PNG encode: channels must be 1, 3 or 4, got " + std::to_string(channels));
      return -1;
    }
    cv::Mat src(height, width, CV_8UC(channels), const_cast<uint8_t*>(pixels));
    cv::Mat bgr;
    if (channels == 3) cv::cvtColor(src, bgr, cv::COLOR_RGB2BGR);
    else if (channels == 4) cv::cvtColor(src, bgr, cv::COLOR_RGBA2BGRA);
    else bgr = src;
    std::vector<uint8_t> encoded;
    if (!cv::imencode(".png", bgr, encoded)) {
      mls::set_error("PNG encode failed");
      return -1;
    }
    *nbytes = static_cast<int64_t>(encoded.size());
    *out = static_cast<uint8_t*>(std::malloc(std::max<size_t>(encoded.size(), 1)));
    std::memcpy(*out, encoded.data(), encoded.size());
    return 0;
  })
}

// interpolation: OpenCV codes (0 nearest, 1 linear, 2 cubic, 3 area).
int mls_image_resize(const uint8_t* src, int height, int width, int channels, uint8_t* dst,
                     int out_height, int out_width, int interpolation) {
  MLS_GUARD(-1, {
    cv::Mat in(height, width, CV_8UC(channels), const_cast<uint8_t*>(src));
    cv::Mat out(out_height, out_width, CV_8UC(channels), dst);
    cv::resize(in, out, cv::Size(out_width, out_height), 0, 0, interpolation);
    if (out.data != dst) {
      mls::set_error("resize reallocated its output");
      return -1;
    }
    return 0;
  })
}

}  // extern "C"
