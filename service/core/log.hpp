// Structured logging: one JSON object per line on stderr (`ts`, `level`, `msg`, context fields).
// Never pass secrets, tokens or raw payloads as fields.
#pragma once

#include <boost/json/value.hpp>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace changefeed::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

using field = std::pair<std::string_view, boost::json::value>;
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
