// For sources that keep one checkpoint for the whole source: reading it back on restore, and the
// lower bound `start_from` sets for a source that has none yet.
#pragma once

#include "app/config.hpp"
#include "core/time.hpp"
#include "db/checkpoint_repository.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <variant>

namespace changefeed::sources {

/// The checkpoint stored under `scope`, read with `State::from_json` (which returns the state or
/// an error message); a default State when none is stored. Throws std::runtime_error naming the
/// problem when the stored one cannot be read.
template <class State>
State read_checkpoint(const db::checkpoint_map& stored, const std::string& scope = {}) {
    auto it = stored.find(scope);
    if (it == stored.end()) {
        return State{};
    }
    auto parsed = State::from_json(it->second);
    if (auto* error = std::get_if<std::string>(&parsed)) {
        throw std::runtime_error("stored checkpoint: " + *error);
    }
    return std::get<State>(std::move(parsed));
}

/// The time `start_from` names (`now`: the current time, so call it once), or nullopt when the
/// source reads everything the vendor keeps.
inline std::optional<time::time_point> start_from(const app::source_config& config) {
    if (!config.start_from) {
        return std::nullopt;
    }
    if (*config.start_from == "now") {
        return time::now();
    }
    return time::parse_rfc3339(*config.start_from);
}

}  // namespace changefeed::sources
