#include "subca/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void subca_report_init(struct subca_report *r) { memset(r, 0, sizeof(*r)); }

static void subca__report_vadd(struct subca_report *r, bool warning,
			       enum subca_code code, const char *hint,
			       const char *fmt, va_list ap) SUBCA_PRINTF(5, 0);
static void subca__report_vadd(struct subca_report *r, bool warning,
			       enum subca_code code, const char *hint,
			       const char *fmt, va_list ap)
{
	struct subca_report_item *it;

	if (r->n >= SUBCA_REPORT_MAX_ITEMS)
		return;
	it = &r->items[r->n++];
	it->warning = warning;
	it->code = code;
	vsnprintf(it->message, sizeof(it->message), fmt, ap);
	snprintf(it->hint, sizeof(it->hint), "%s", hint ? hint : "");
	if (warning)
		r->warnings++;
	else
		r->refusals++;
}

void subca_report_refuse(struct subca_report *r, enum subca_code code,
			 const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	subca__report_vadd(r, false, code, hint, fmt, ap);
	va_end(ap);
}

void subca_report_warn(struct subca_report *r, enum subca_code code,
		       const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	subca__report_vadd(r, true, code, hint, fmt, ap);
	va_end(ap);
}

void subca_report_refuse_current(struct subca_report *r)
{
	const char *hint = subca_error_hint_text();

	subca_report_refuse(r, subca_error_code(), hint[0] ? hint : NULL, "%s",
			    subca_error_reason());
}

subca_result subca_report_result(const struct subca_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct subca_report_item *it = &r->items[i];

		if (it->warning)
			continue;
		subca_error_set(it->code, __FILE__, __LINE__, "%s", it->message);
		if (it->hint[0])
			subca_error_hint("%s", it->hint);
		return it->code;
	}
	return SUBCA_OK;
}
