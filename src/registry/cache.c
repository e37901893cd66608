/* The index cache on disk: one file per source under
 * $XDG_CACHE_HOME/llm-eval/index/, named by the type and a hash of the
 * source's absolute path, holding the index blob as is (index_fmt.h).
 *
 * Reading maps the file (read-only, populated in one go) and checks magic, version, byte order,
 * size, checksum and every offset; anything wrong and the cache is ignored
 * (and later rebuilt), never trusted. Writing goes to a temporary file in the
 * same directory and is renamed over the old one, so two processes building
 * at once each leave a whole file and readers never see half of one. There is
 * no fsync: a cache torn by a crash fails its checksum and is rebuilt.
 * A cache directory that cannot be created or written means no cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/index_int.h"
#include "registry/registry.h"
#include "util/diag.h"
#include "util/path.h"

char *lle_reg_cache_dir(void)
{
	char *base = lle_xdg_dir("cache");
	if (!base)
		return NULL;
	char *dir = lle_path_join(base, "index");
	free(base);
	if (!dir)
		return NULL;
	if (lle_mkdir_p(dir) < 0) {
		lle_debugf("no index cache: cannot create '%s': %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

struct lle_reg_source *lle_idx_cache_read(const char *path, const char *root, int type, int layout,
					  char *note, size_t nnote)
{
	note[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			snprintf(note, nnote, "cannot open: %s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct lle_idx_hdr) ||
	    st.st_size > (off_t)UINT32_MAX) {
		snprintf(note, nnote, "not an llm-eval index");
		close(fd);
		return NULL;
	}
	/* A read-only mapping, filled at once: no copy out of the page cache,
	 * and no page faults one by one while it is checked. */
	size_t n = (size_t)st.st_size;
	void *map = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(note, nnote, "cannot map: %s", strerror(errno));
		return NULL;
	}
	unsigned char *blob = map;
	struct lle_reg_source *s = calloc(1, sizeof(*s));
	if (!s) {
		munmap(map, n);
		return NULL;
	}
	if (lle_idx_open_blob(s, blob, n, note, nnote) < 0) {
		munmap(map, n);
		free(s);
		return NULL;
	}
	s->mapped = 1;
	if (strcmp(s->pool + s->h->root, root) != 0 || s->h->type != (uint32_t)type ||
	    s->h->layout != (uint32_t)layout) {
		snprintf(note, nnote, "built for another directory");
		lle_reg_source_free(s);
		return NULL;
	}
	return s;
}

int lle_idx_cache_write(const char *path, const struct lle_reg_source *s)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.XXXXXX", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	int fd = mkstemp(tmp);
	if (fd < 0) {
		lle_debugf("index cache not written: '%s': %s", tmp, strerror(errno));
		return -1;
	}
	size_t done = 0;
	while (done < s->nblob) {
		ssize_t w = write(fd, s->blob + done, s->nblob - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	int ok = done == s->nblob;
	if (fchmod(fd, 0644) < 0)
		ok = 0;
	if (close(fd) < 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		lle_debugf("index cache not written: '%s': %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
