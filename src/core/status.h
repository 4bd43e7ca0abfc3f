// Status and Result<T>: how the host-side core reports failure without exceptions.
// The CLI turns a failed Status into one line and a non-zero exit; the Embind layer
// turns it into a JS exception carrying the same message.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace slingshot {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a parameter or shape the caller gave is wrong
  kDataLoss,         // a file is truncated or internally inconsistent
  kNotFound,         // a file, layer or name does not exist
  kUnimplemented,    // a feature or layer type this build does not know
  kIo,               // the OS refused a read or write
  kInternal,         // a broken invariant: a bug in Slingshot
  kCancelled,        // the caller stopped a run (a progress observer said no)
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>"; "ok" when ok.
  std::string to_string() const;

  // Prefixes the message with context, e.g. "layer 'conv1': " + message.
  Status with_context(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIo, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }

// A value or the Status explaining why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace slingshot

#define SLING_CONCAT_INNER_(a, b) a##b
#define SLING_CONCAT_(a, b) SLING_CONCAT_INNER_(a, b)

// Returns early from the enclosing function if `expr` yields a failed Status.
#define SLING_RETURN_IF_ERROR(expr)                    \
  do {                                                 \
    ::slingshot::Status sling_status_ = (expr);        \
    if (!sling_status_.ok()) return sling_status_;     \
  } while (0)

// `SLING_ASSIGN_OR_RETURN(auto x, make_x());` unwraps a Result or returns its Status.
#define SLING_ASSIGN_OR_RETURN(lhs, expr) \
  SLING_ASSIGN_OR_RETURN_IMPL_(SLING_CONCAT_(sling_result_, __LINE__), lhs, expr)
#define SLING_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
