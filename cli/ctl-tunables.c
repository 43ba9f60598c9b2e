/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* get, set and reset: the daemon's tunables, one or as a table, as text or JSON. */
#include <stdlib.h>
#include <string.h>

#include "json-render.h"
#include "status-render.h"
#include "vmbalancectl-priv.h"

/* A typed tunable value as it would be written in the configuration file. */
static char *
value_to_text(GVariant *v)
{
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_VARIANT)) {
        g_autoptr(GVariant) inner = g_variant_get_variant(v);
        return value_to_text(inner);
    }
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN))
        return g_strdup(g_variant_get_boolean(v) ? "true" : "false");
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32))
        return g_strdup_printf("%u", g_variant_get_uint32(v));
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_DOUBLE)) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup(g_ascii_dtostr(buf, sizeof(buf), g_variant_get_double(v)));
    }
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING))
        return g_variant_dup_string(v, NULL);
    if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING_ARRAY)) {
        g_autofree const char **items = g_variant_get_strv(v, NULL);
        return g_strjoinv(",", (char **) items);
    }
    return g_variant_print(v, FALSE);
}

/* The table of get without KEY: ListTunables()'s @list ("a(svbss)"). */
static void
print_tunable_table(GVariant *list)
{
    g_autoptr(GString) out = g_string_new(NULL);
    guint width = strlen("KEY");
    GVariantIter it;
    const char *name, *allowed;
    GVariant *value;
    gboolean overridden;
    g_variant_iter_init(&it, list);
    while (g_variant_iter_next(&it, "(&svb&s&s)", &name, NULL, NULL, NULL, NULL))
        width = MAX(width, (guint) strlen(name));

    g_string_append_printf(out, "%-*s  %-20s  %-8s  %s\n", (int) width, "KEY", "VALUE", "SOURCE",
                           "ALLOWED");
    g_variant_iter_init(&it, list);
    while (g_variant_iter_next(&it, "(&svb&s&s)", &name, &value, &overridden, &allowed, NULL)) {
        g_autoptr(GVariant) owned = value;
        g_autofree char *text = value_to_text(value);
        g_string_append_printf(out, "%-*s  ", (int) width, name);
        vmb_append_padded(out, text, 20, FALSE);
        g_string_append_printf(out, "  %-8s  %s\n", overridden ? "override" : "config", allowed);
    }
    g_string_append(out, "\nSOURCE override: set with `vmbalancectl set`, kept across restarts "
                         "until `vmbalancectl reset KEY`.\n");
    g_print("%s", out->str);
}

/* GetTunable resolves aliases ("interval") and rejects unknown keys. */
static int
get_tunable(VmbManager1 *proxy, const char *key, char **name, GVariant **value)
{
    g_autoptr(GError) error = NULL;
    if (!vmb_manager1_call_get_tunable_sync(proxy, key, CALL_DEFAULTS, name, value, NULL, &error))
        return call_failed(error);
    return EXIT_SUCCESS;
}

/* Prints KEY's value in effect: bare, or as "name = value@suffix" with a @suffix. */
static int
print_tunable(VmbManager1 *proxy, const char *key, const char *suffix)
{
    g_autofree char *name = NULL;
    g_autoptr(GVariant) value = NULL;
    int rc = get_tunable(proxy, key, &name, &value);
    if (rc != EXIT_SUCCESS)
        return rc;
    g_autofree char *text = value_to_text(value);
    if (suffix)
        g_print("%s = %s%s\n", name, text, suffix);
    else
        g_print("%s\n", text);
    return EXIT_SUCCESS;
}

/* ListTunables() as the table, or as JSON (only @wanted, a full name, when not NULL). */
static int
list_tunables(VmbManager1 *proxy, const char *wanted)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) list = NULL;
    if (!vmb_manager1_call_list_tunables_sync(proxy, CALL_DEFAULTS, &list, NULL, &error))
        return call_failed(error);
    if (opt.json) {
        g_autofree char *doc = vmb_tunables_to_json(list, wanted);
        g_print("%s", doc);
    } else {
        print_tunable_table(list);
    }
    return EXIT_SUCCESS;
}

int
cmd_get(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    if (argc == 0)
        return list_tunables(proxy, NULL);
    if (!opt.json)
        return print_tunable(proxy, argv[0], NULL);
    /* The JSON object also tells the source and allowed values, which only the list has. */
    g_autofree char *name = NULL;
    g_autoptr(GVariant) value = NULL;
    int rc = get_tunable(proxy, argv[0], &name, &value);
    return rc != EXIT_SUCCESS ? rc : list_tunables(proxy, name);
}

int
cmd_set(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    /* Sent as text: the daemon parses it exactly as the configuration file. */
    GVariant *value = g_variant_new_variant(g_variant_new_string(argv[1]));
    if (!vmb_manager1_call_set_tunable_sync(proxy, argv[0], value, CALL_DEFAULTS, NULL, &error))
        return call_failed(error);
    return print_tunable(proxy, argv[0], "");
}

int
cmd_reset(const Command *cmd, VmbManager1 *proxy, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    if (!vmb_manager1_call_reset_tunable_sync(proxy, argv[0], CALL_DEFAULTS, NULL, &error))
        return call_failed(error);
    return print_tunable(proxy, argv[0], " (from the configuration file)");
}
