#include "core/json_diff.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <set>

namespace changefeed::core {

namespace json = boost::json;

namespace {

const json::value k_null;

void add(json::array& out, const std::string& pointer, const json::value& before, const json::value& after) {
    out.push_back(json::object{{"field", pointer},
                               {"old", before},
                               {"new", after}});
}

// The key member of an array element as a pointer token; empty when it has none.
std::string element_key(const json::value& element, const std::string& key) {
    const auto* o = element.if_object();
    const json::value* k = o != nullptr ? o->if_contains(key) : nullptr;
    if (k == nullptr || k->is_null() || k->is_object() || k->is_array()) {
        return {};
    }
    if (const auto* s = k->if_string()) {
        return std::string(*s);
    }
    return json::serialize(*k);
}

// The array as key -> element, or false when an element lacks the key or keys repeat.
bool keyed(const json::array& a, const std::string& key, std::map<std::string, const json::value*>& out) {
    for (const auto& element : a) {
        auto k = element_key(element, key);
        if (k.empty() || !out.emplace(k, &element).second) {
            return false;
        }
    }
    return true;
}

void walk(const json::value& before, const json::value& after, const std::string& pointer,
          const diff_options& options, json::array& out) {
    if (before.is_object() && after.is_object()) {
        const auto& b = before.get_object();
        const auto& a = after.get_object();
        std::set<std::string_view> keys;
        for (const auto& kv : b) {
            keys.insert(kv.key());
        }
        for (const auto& kv : a) {
            keys.insert(kv.key());
        }
        for (auto key : keys) {
            const auto* bv = b.if_contains(key);
            const auto* av = a.if_contains(key);
            walk(bv != nullptr ? *bv : k_null, av != nullptr ? *av : k_null,
                 pointer + "/" + escape_pointer_token(key), options, out);
        }
        return;
    }
    if (before.is_array() && after.is_array()) {
        auto it = options.array_keys.find(pointer);
        std::map<std::string, const json::value*> bk;
        std::map<std::string, const json::value*> ak;
        if (it != options.array_keys.end() && keyed(before.get_array(), it->second, bk) &&
            keyed(after.get_array(), it->second, ak)) {
            std::set<std::string> keys;
            for (const auto& [k, v] : bk) {
                keys.insert(k);
            }
            for (const auto& [k, v] : ak) {
                keys.insert(k);
            }
            for (const auto& k : keys) {
                auto bi = bk.find(k);
                auto ai = ak.find(k);
                walk(bi != bk.end() ? *bi->second : k_null, ai != ak.end() ? *ai->second : k_null,
                     pointer + "/" + escape_pointer_token(k), options, out);
            }
            return;
        }
    }
    if (before != after) {
        // An object that appears or disappears: name its leaves, so a consumer sees the same
        // pointers whether the parent existed or not.
        if (before.is_object() && after.is_null()) {
            walk(before, json::object{}, pointer, options, out);
            return;
        }
        if (before.is_null() && after.is_object()) {
            walk(json::object{}, after, pointer, options, out);
            return;
        }
        add(out, pointer, before, after);
    }
}

}  // namespace

std::string escape_pointer_token(std::string_view token) {
    std::string out;
    out.reserve(token.size());
    for (char c : token) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

json::array json_diff(const json::value& before, const json::value& after, const diff_options& options) {
    json::array out;
    walk(before, after, "", options, out);
    return out;
}

std::variant<diff_options, std::string> parse_array_keys(const std::vector<std::string>& entries) {
    diff_options out;
    for (const auto& entry : entries) {
        auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0 || entry.front() != '/' || eq + 1 == entry.size()) {
            return "'" + entry + "' is not POINTER=KEY (a JSON Pointer to an array, '=', the member " +
                   "that identifies its elements), e.g. /invoice_lines=id";
        }
        out.array_keys[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    return out;
}

}  // namespace changefeed::core
