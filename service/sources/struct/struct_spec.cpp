#include "sources/struct/struct_spec.hpp"

#include "sim/common/demo_source.hpp"
#include "sim/struct/struct_demo.hpp"
#include "sources/struct/struct_source.hpp"

namespace changefeed::sources::struct_pim {

using namespace std::chrono_literals;

kind_spec struct_spec() {
    return {
        .kind = "struct",
        .knobs =
            {
                {.name = "api_key",
                 .type = knob_type::secret,
                 .required = true,
                 .help = "API key, sent as the bare Authorization header (no Bearer)"},
                {.name = "overlap",
                 .type = knob_type::duration,
                 .default_value = duration_default(5min),
                 .help = "committedAfter = last commit timestamp minus this"},
                {.name = "page_size",
                 .type = knob_type::integer,
                 .default_value = 100,
                 .help = "transactions per search page; last page when Page * page_size >= "
                         "TotalCount"},
                {.name = "param_page",
                 .type = knob_type::string,
                 .default_value = "page",
                 .help = "search query parameter name for the page (names not documented)"},
                {.name = "param_committed_after",
                 .type = knob_type::string,
                 .default_value = "committedAfter",
                 .help = "search query parameter name for the lower commit bound"},
                {.name = "param_committed_before",
                 .type = knob_type::string,
                 .default_value = "committedBefore",
                 .help = "search query parameter name for the upper commit bound (empty: not "
                         "sent)"},
                {.name = "changedentities_batch",
                 .type = knob_type::integer,
                 .default_value = 5000,
                 .help = "uids per POST /v1/transactions/batch/changedentities (vendor maximum "
                         "5000)",
                 .max_int = 5000},
                {.name = "changes_batch",
                 .type = knob_type::integer,
                 .default_value = 1000,
                 .help = "revision keys per POST /v1/transactions/changes/batch (at most 1000)",
                 .max_int = 1000},
                {.name = "field_diffs",
                 .type = knob_type::boolean,
                 .default_value = false,
                 .help = "fetch per-field revision data into the event"},
            },
        // The vendor documents no rate limit: 10 requests/s is an assumption.
        .default_rate_limit = {{10, 1s}},
        .default_poll_interval = 60s,
        .create = make_struct_source,
        .demo = sim::struct_demo,
    };
}

}  // namespace changefeed::sources::struct_pim
