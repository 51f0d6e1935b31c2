// Structured logging: one JSON object per line on stderr (`ts`, `level`, `msg`, context fields).
// Never pass secrets, tokens or raw payloads as fields.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <type_traits>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace changefeed::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

/// A context field; strings, numbers, booleans and JSON values convert implicitly.
struct field {
    field(std::string_view k, boost::json::value v) : key(k), value(std::move(v)) {}
    field(std::string_view k, const std::string& v) : key(k), value(boost::json::string_view(v)) {}
    field(std::string_view k, std::string_view v) : key(k), value(boost::json::string_view(v)) {}
    field(std::string_view k, const char* v) : key(k), value(v) {}
    template <class T>
        requires std::is_arithmetic_v<T>
    field(std::string_view k, T v) : key(k), value(convert(v)) {}

    std::string_view key;
    boost::json::value value;

private:
    template <class T>
    static boost::json::value convert(T v) {
        if constexpr (std::is_same_v<T, bool>) {
            return boost::json::value(v);
        } else if constexpr (std::is_floating_point_v<T>) {
            return boost::json::value(static_cast<double>(v));
        } else if constexpr (std::is_signed_v<T>) {
            return boost::json::value(static_cast<std::int64_t>(v));
        } else {
            return boost::json::value(static_cast<std::uint64_t>(v));
        }
    }
};
using fields = std::initializer_list<field>;

void write(level lvl, std::string_view msg, fields context = {});

inline void debug(std::string_view msg, fields context = {}) { write(level::debug, msg, context); }
inline void info(std::string_view msg, fields context = {}) { write(level::info, msg, context); }
inline void warn(std::string_view msg, fields context = {}) { write(level::warn, msg, context); }
inline void error(std::string_view msg, fields context = {}) { write(level::error, msg, context); }

/// Lines below this level are dropped. Default: info.
void set_level(level lvl);
/// Parses "debug", "info", "warn", "error"; false for anything else.
bool parse_level(std::string_view text, level& out);

/// Replaces the sink (default: stderr). Tests capture lines with it; pass nullptr to restore.
void set_sink(std::function<void(std::string_view line)> sink);

}  // namespace changefeed::log
