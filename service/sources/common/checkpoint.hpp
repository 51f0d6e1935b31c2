// Stored checkpoints: written as one state per resource and read back on restore (one for the
// whole source, or one per resource), and the lower bound `start_from` sets for a source that has
// none yet.
#pragma once

#include "app/config.hpp"
#include "core/time.hpp"
#include "db/checkpoint_repository.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

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

/// For sources with one checkpoint per resource (scope = resource name): each configured
/// resource's stored checkpoint, or `initial()` when it has none. Throws std::runtime_error naming
/// the resource whose stored checkpoint cannot be read.
template <class State, class Initial>
std::map<std::string, State> read_resource_checkpoints(const db::checkpoint_map& stored,
                                                       const std::vector<std::string>& resources,
                                                       Initial initial) {
    std::map<std::string, State> states;
    for (const auto& r : resources) {
        auto it = stored.find(r);
        if (it == stored.end()) {
            states[r] = initial();
            continue;
        }
        auto parsed = State::from_json(it->second);
        if (auto* error = std::get_if<std::string>(&parsed)) {
            throw std::runtime_error("stored checkpoint of " + r + ": " + *error);
        }
        states[r] = std::get<State>(std::move(parsed));
    }
    return states;
}

template <class State>
std::map<std::string, State> read_resource_checkpoints(const db::checkpoint_map& stored,
                                                       const std::vector<std::string>& resources) {
    return read_resource_checkpoints<State>(stored, resources, [] { return State{}; });
}

/// The checkpoint of a source with one state per resource, as read_resource_checkpoints reads it
/// back: {"<resource>": state.to_json(), ...}.
template <class State>
boost::json::value resource_checkpoints_json(const std::map<std::string, State>& states) {
    boost::json::object o;
    for (const auto& [resource, state] : states) {
        o[resource] = state.to_json();
    }
    return o;
}

/// The time `start_from` names (`now`: `now`), or nullopt when the source reads everything the
/// vendor keeps.
inline std::optional<time::time_point> start_from(const app::source_config& config,
                                                  time::time_point now) {
    if (!config.start_from) {
        return std::nullopt;
    }
    if (*config.start_from == "now") {
        return now;
    }
    return time::parse_rfc3339(*config.start_from);
}

/// start_from with `now` the current time (so call it once).
inline std::optional<time::time_point> start_from(const app::source_config& config) {
    return start_from(config, time::now());
}

}  // namespace changefeed::sources
