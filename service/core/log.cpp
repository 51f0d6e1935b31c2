// Structured JSON-lines logger.
#include "core/log.hpp"

#include "core/time.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace changefeed::log {

namespace {

std::atomic<int> g_threshold{static_cast<int>(level::info)};
std::mutex g_mutex;
std::function<void(std::string_view)> g_sink;

std::string_view level_name(level lvl) {
    switch (lvl) {
    case level::debug:
        return "debug";
    case level::info:
        return "info";
    case level::warn:
        return "warn";
    case level::error:
        return "error";
    }
    return "info";
}

}  // namespace

void write(level lvl, std::string_view msg, fields context) {
    if (static_cast<int>(lvl) < g_threshold.load(std::memory_order_relaxed)) {
        return;
    }
    boost::json::object line;
    line["ts"] = time::format_rfc3339(time::now());
    line["level"] = level_name(lvl);
    line["msg"] = msg;
    for (const auto& [key, value] : context) {
        line[key] = value;
    }
    std::string text = boost::json::serialize(line);
    text.push_back('\n');
    std::lock_guard lock(g_mutex);
    if (g_sink) {
        g_sink(text);
    } else {
        std::fwrite(text.data(), 1, text.size(), stderr);
    }
}

void set_level(level lvl) { g_threshold.store(static_cast<int>(lvl)); }

bool parse_level(std::string_view text, level& out) {
    for (level lvl : {level::debug, level::info, level::warn, level::error}) {
        if (text == level_name(lvl)) {
            out = lvl;
            return true;
        }
    }
    return false;
}

void set_sink(std::function<void(std::string_view)> sink) {
    std::lock_guard lock(g_mutex);
    g_sink = std::move(sink);
}

}  // namespace changefeed::log
