#include "sources/retailcrm/retailcrm_spec.hpp"

#include "sim/common/demo_source.hpp"
#include "sim/retailcrm/retailcrm_demo.hpp"
#include "sources/retailcrm/account_zone.hpp"
#include "sources/retailcrm/retailcrm_source.hpp"

#include <boost/json/string.hpp>

namespace changefeed::sources::retailcrm {

namespace {

using namespace std::chrono_literals;

std::optional<std::string> check_options(const boost::json::object& options) {
    const auto& start = options.at("start_date");
    if (start.is_string() && !start.get_string().empty() && !parse_local(start.get_string())) {
        return "start_date: expected \"YYYY-MM-DD HH:MM:SS\" (account time, no zone)";
    }
    const auto& zone = options.at("timezone");
    if (zone.is_string()) {
        auto loaded = account_zone::load(zone.get_string());
        if (auto* error = std::get_if<std::string>(&loaded)) {
            return "timezone: " + *error;
        }
    }
    return std::nullopt;
}

}  // namespace

kind_spec retailcrm_spec() {
    return {
        .kind = "retailcrm",
        .knobs =
            {
                {.name = "api_key",
                 .type = knob_type::secret,
                 .required = true,
                 .help = "API key, sent as X-API-KEY"},
                {.name = "page_limit",
                 .type = knob_type::integer,
                 .default_value = 100,
                 .help = "history `limit` per request",
                 .allowed_values = {20, 50, 100, 250}},
                {.name = "start_date",
                 .type = knob_type::string,
                 .help =
                     "bootstrap filter[startDate] (\"YYYY-MM-DD HH:MM:SS\", account time zone); "
                     "unset: start_from, else the whole history"},
                {.name = "timezone",
                 .type = knob_type::string,
                 .default_value = "UTC",
                 .help = "the account's time zone, in which history timestamps are written: UTC, "
                         "an offset (+03:00) or an IANA name (Europe/Moscow, needs tzdata)"},
                {.name = "skip_own_changes",
                 .type = knob_type::boolean,
                 .default_value = false,
                 .help = "drop history records made with our own API key (apiKey.current)"},
            },
        .default_rate_limit = {{10, 1s}},
        .default_poll_interval = 5min,
        .allowed_resources = {"orders", "customers", "customers_corporate", "orders_packs",
                              "tasks"},
        .default_resources = {"orders", "customers", "customers_corporate"},
        .check = check_options,
        .create = make_retailcrm_source,
        .demo = sim::retailcrm_demo,
    };
}

}  // namespace changefeed::sources::retailcrm
