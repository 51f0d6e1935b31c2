#include "sources/saleschannel/saleschannel_spec.hpp"

#include "sim/common/demo_source.hpp"
#include "sim/saleschannel/saleschannel_demo.hpp"
#include "sources/saleschannel/saleschannel_source.hpp"

#include <boost/json/string.hpp>

namespace changefeed::sources::saleschannel {

namespace {

using namespace std::chrono_literals;

bool given(const boost::json::object& options, std::string_view key) {
    const auto* v = options.if_contains(key);
    return v != nullptr && v->is_string() && !v->get_string().empty();
}

// Exactly one auth form: HTTP Basic (api_key_id + api_key_secret) or Bearer (token).
std::optional<std::string> check_auth(const boost::json::object& options) {
    bool id = given(options, "api_key_id");
    bool secret = given(options, "api_key_secret");
    bool token = given(options, "token");
    if (token && (id || secret)) {
        return "give either api_key_id + api_key_secret (HTTP Basic) or token (Bearer), not both";
    }
    if (!token && !id && !secret) {
        return "credentials missing: give api_key_id + api_key_secret (HTTP Basic) or token "
               "(Bearer)";
    }
    if (!token && !(id && secret)) {
        return id ? "api_key_secret is required with api_key_id"
                  : "api_key_id is required with api_key_secret";
    }
    return std::nullopt;
}

}  // namespace

kind_spec saleschannel_spec() {
    return {
        .kind = "saleschannel",
        .knobs =
            {
                {.name = "api_key_id",
                 .type = knob_type::secret,
                 .help = "API key id, HTTP Basic user (with api_key_secret; or use token)"},
                {.name = "api_key_secret",
                 .type = knob_type::secret,
                 .help = "API key passphrase, HTTP Basic password"},
                {.name = "token",
                 .type = knob_type::secret,
                 .help = "Bearer token, instead of api_key_id + api_key_secret"},
                {.name = "query_encoding",
                 .type = knob_type::string,
                 .default_value = "brackets",
                 .help =
                     "brackets: $orderBy[createdAt]=asc; json: $orderBy={\"createdAt\":\"asc\"}",
                 .allowed_values = {"brackets", "json"}},
                {.name = "page_limit",
                 .type = knob_type::integer,
                 .default_value = 100,
                 .help = "$limit per page (vendor maximum not documented)"},
                {.name = "max_page_limit",
                 .type = knob_type::integer,
                 .default_value = 500,
                 .help = "largest $limit a page full of one createdAt grows to (doubling) "
                         "before those rows are walked in id order"},
                {.name = "null_sweep_interval",
                 .type = knob_type::duration,
                 .default_value = duration_default(1h),
                 .help = "how often an unfiltered page is read for rows whose createdAt is null "
                         "(0: never)"},
            },
        .default_rate_limit = {{5, 1s}},
        .default_poll_interval = 10s,
        .check = check_auth,
        .create = make_saleschannel_source,
        .demo = sim::saleschannel_demo,
    };
}

}  // namespace changefeed::sources::saleschannel
