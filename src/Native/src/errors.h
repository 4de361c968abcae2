#pragma once
#include <c10/util/Exception.h>
#include <exception>
#include <string>

namespace mls {
void set_error(const char* message);
void set_error(const std::string& message);
void clear_error();
}  // namespace mls

// Wraps an export body: a C++ exception never crosses the C ABI (it would abort the .NET
// process); it becomes an error return plus a per-thread message instead.
#define MLS_GUARD(fail_value, ...)                                        \
  try {                                                                   \
    __VA_ARGS__                                                           \
  } catch (const c10::Error& e) {                                         \
    mls::set_error(e.what_without_backtrace());                           \
    return fail_value;                                                    \
  } catch (const std::exception& e) {                                     \
    mls::set_error(e.what());                                             \
    return fail_value;                                                    \
  } catch (...) {                                                         \
    mls::set_error("unknown native exception");                           \
    return fail_value;                                                    \
  }

#define MLS_CHECK_HANDLE(h, fail_value)                                   \
  if ((h) == nullptr) {                                                   \
    mls::set_error("null tensor handle (was the tensor disposed?)");      \
    return fail_value;                                                    \
  }
