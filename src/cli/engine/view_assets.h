/* The viewer's page files, compiled into the engine by tools/web2c from web/
 * (mk/view.mk): each with its URL path ("/view.js"), content type and bytes.
 * Not here: serving them (cmd_view.c). */
#ifndef LLE_CLI_ENGINE_VIEW_ASSETS_H
#define LLE_CLI_ENGINE_VIEW_ASSETS_H

struct lle_web_asset {
	const char *path;
	const char *type;
	const unsigned char *data;
	unsigned long len;
};

extern const struct lle_web_asset lle_web_assets[];
extern const unsigned long lle_web_n_assets;

#endif
