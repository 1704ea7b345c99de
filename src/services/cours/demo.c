/*
 * demo.c - the cours service's part of `ent demo`: one course per demo class, each with a few
 * real PDF materials.
 *
 * The users demo runs first; its classes ("6e A", "5e B", "4e C" of the current school year) and
 * teachers are found through the users service's C interface (users_class_find,
 * users_find_login), never its tables. The PDFs are drawn with cairo's PDF surface into memory
 * (a title page, then two or three pages of French course text wrapped to the page), so they open
 * in any browser and the assistant has something to answer from: each material is published on the
 * bus (material.published) in the transaction that creates it, and the chatbot indexes it. They are stored
 * through the fichiers service (fichiers_create, fichiers_attach).
 *
 * Idempotent: a course that exists (same title, same creator) is left as it is.
 */
#include "internal.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/fichiers/fichiers.h"
#include "services/users/users.h"

struct demo_material {
	const char *title, *section, *file_name;
	const char *paragraphs[20]; /* "\f" starts a new page; NULL ends */
};

struct demo_course {
	const char *class_name, *teacher_email, *title, *subject, *description;
	struct demo_material materials[3];
};

static const struct demo_course demo_courses[] = {
	{"6e A",
	 "claire.martin@demo.ent.local",
	 "Mathématiques — 6e A",
	 "mathematiques",
	 "Nombres, calcul et géométrie pour la classe de sixième.",
	 {
		 {"Les fractions",
		  "Chapitre 1 : nombres",
		  "fractions.pdf",
		  {"Une fraction représente un partage : dans 3/4, le dénominateur 4 indique en combien de parts égales on partage l'unité, et le numérateur 3 combien de parts on prend.",
		   "Une fraction est aussi un quotient : 3/4 est le nombre qui, multiplié par 4, donne 3. On peut l'écrire sous forme décimale : 3/4 = 0,75.",
		   "Une fraction dont le numérateur est plus petit que le dénominateur est inférieure à 1 ; si le numérateur est plus grand, elle est supérieure à 1.",
		   "\f",
		   "Deux fractions sont égales quand on multiplie ou divise leur numérateur et leur dénominateur par un même nombre non nul : 1/2 = 2/4 = 50/100.",
		   "Simplifier une fraction, c'est l'écrire avec un numérateur et un dénominateur plus petits, en les divisant par un diviseur commun : 12/18 = 2/3 en divisant par 6.",
		   "Pour comparer deux fractions de même dénominateur, il suffit de comparer leurs numérateurs. Sinon, on les écrit d'abord avec un dénominateur commun.",
		   "\f",
		   "Pour prendre une fraction d'une quantité, on divise la quantité par le dénominateur puis on multiplie par le numérateur : les 3/4 de 20 euros font 20 ÷ 4 × 3 = 15 euros.",
		   "Pour placer une fraction sur une demi-droite graduée, on partage chaque unité en autant de parts égales que l'indique le dénominateur.",
		   "Exercice : place sur une demi-droite graduée les fractions 1/4, 3/4, 5/4 et 2."}},
		 {"Les angles",
		  "Chapitre 2 : géométrie",
		  "angles.pdf",
		  {"Un angle est formé par deux demi-droites de même origine, appelée le sommet de l'angle. Les deux demi-droites sont les côtés de l'angle.",
		   "On nomme un angle avec trois lettres, le sommet au milieu : l'angle xOy ou l'angle AOB.",
		   "On mesure un angle en degrés avec un rapporteur : on place le centre du rapporteur sur le sommet et le zéro sur un côté.",
		   "\f",
		   "Un angle droit mesure 90°, un angle plat 180°. Un angle aigu mesure moins de 90°, un angle obtus entre 90° et 180°.",
		   "La bissectrice d'un angle est la demi-droite qui le partage en deux angles de même mesure.",
		   "Dans un triangle, la somme des mesures des trois angles est toujours égale à 180°.",
		   "Exercice : trace un angle de 35°, puis un angle de 120°, et nomme-les."}},
		 {NULL, NULL, NULL, {NULL}},
	 }},
	{"5e B",
	 "thomas.bernard@demo.ent.local",
	 "Français — 5e B",
	 "francais",
	 "Lecture, écriture et étude de la langue en cinquième.",
	 {
		 {"Le récit d'aventure",
		  "Séquence 1",
		  "recit-aventure.pdf",
		  {"Le récit d'aventure raconte le voyage d'un héros qui quitte son monde familier, affronte des épreuves et revient transformé.",
		   "Le schéma narratif organise le récit en cinq étapes : la situation initiale, l'élément perturbateur, les péripéties, l'élément de résolution et la situation finale.",
		   "\f",
		   "Le narrateur peut être extérieur à l'histoire ou en être un personnage : on parle alors de récit à la première personne.",
		   "Les temps du récit sont le passé simple pour les actions de premier plan et l'imparfait pour les descriptions et les actions d'arrière-plan.",
		   "\f",
		   "Lecture : dans « L'Île au trésor » de Robert Louis Stevenson, le jeune Jim Hawkins découvre la carte d'un trésor caché et embarque sur l'Hispaniola.",
		   "À bord, il surprend le cuisinier Long John Silver, un pirate à la jambe de bois, qui prépare une mutinerie avec une partie de l'équipage."}},
		 {"Le complément d'objet",
		  "Étude de la langue",
		  "complement-objet.pdf",
		  {"Le complément d'objet direct (COD) se rattache au verbe sans préposition : « Elle lit un roman ».",
		   "Pour trouver le COD, on pose la question « quoi ? » ou « qui ? » après le verbe.", "\f",
		   "Le complément d'objet indirect (COI) est introduit par une préposition, le plus souvent « à » ou « de » : « Il parle à son ami ».",
		   "Pour trouver le COI, on pose la question « à qui ? », « à quoi ? », « de qui ? » ou « de quoi ? » après le verbe.",
		   "Le pronom personnel peut remplacer un complément d'objet : « Je le vois » (COD), « Je lui parle » (COI).",
		   "Exercice : souligne les COD et encadre les COI dans le texte distribué."}},
		 {"Écrire un dialogue",
		  "Séquence 1",
		  "dialogue.pdf",
		  {"Un dialogue s'ouvre par des guillemets ; chaque changement de personnage qui parle est marqué par un tiret en début de ligne.",
		   "Les verbes de parole (dire, répondre, s'écrier, murmurer) précisent qui parle et comment.", "\f",
		   "Évite de répéter « dit-il » : varie les verbes et les incises, placées entre virgules au milieu ou à la fin de la réplique.",
		   "Le discours indirect rapporte les paroles sans guillemets, dans une proposition subordonnée : « Il a dit qu'il viendrait demain ».",
		   "Consigne : écris un dialogue de dix répliques entre deux explorateurs perdus."}},
	 }},
	{"4e C",
	 "nadia.haddad@demo.ent.local",
	 "Histoire-Géographie — 4e C",
	 "histoire-geographie",
	 "Le XVIIIe siècle, la Révolution et l'Empire ; l'urbanisation du monde.",
	 {
		 {"Les Lumières",
		  "Thème 1 : le XVIIIe siècle",
		  "lumieres.pdf",
		  {"Au XVIIIe siècle, des philosophes comme Voltaire, Montesquieu, Rousseau et Diderot critiquent l'absolutisme et l'intolérance religieuse.",
		   "Ils défendent la raison, la liberté, l'égalité devant la loi et le progrès des connaissances.",
		   "\f",
		   "Dans « De l'esprit des lois » (1748), Montesquieu propose la séparation des pouvoirs : le pouvoir législatif, le pouvoir exécutif et le pouvoir judiciaire doivent être confiés à des personnes différentes.",
		   "Rousseau, dans « Du contrat social » (1762), affirme que la souveraineté appartient au peuple.",
		   "\f",
		   "L'Encyclopédie, dirigée par Diderot et d'Alembert, paraît de 1751 à 1772 : elle rassemble les connaissances et diffuse les idées nouvelles malgré la censure.",
		   "Les idées des Lumières circulent dans les salons, les cafés et les académies, et par les journaux.",
		   "Question : pourquoi parle-t-on de « siècle des Lumières » ?"}},
		 {"La Révolution française",
		  "Thème 2 : la Révolution et l'Empire",
		  "revolution.pdf",
		  {"En mai 1789, les états généraux se réunissent à Versailles ; le 17 juin, les députés du tiers état se proclament Assemblée nationale.",
		   "Le 20 juin 1789, par le serment du Jeu de paume, ils jurent de ne pas se séparer avant d'avoir donné une constitution à la France.",
		   "\f",
		   "Le 14 juillet 1789, le peuple de Paris prend la Bastille, une prison symbole de l'arbitraire royal.",
		   "Dans la nuit du 4 août 1789, l'Assemblée abolit les privilèges ; le 26 août, elle adopte la Déclaration des droits de l'homme et du citoyen.",
		   "\f",
		   "Le 10 août 1792, le palais des Tuileries est pris ; le 21 septembre 1792, la monarchie est abolie et la République proclamée.",
		   "Louis XVI est jugé par la Convention et guillotiné le 21 janvier 1793.",
		   "En 1799, le coup d'État du 18 brumaire porte Napoléon Bonaparte au pouvoir ; il se fait sacrer empereur en 1804.",
		   "Repère : réalise une frise chronologique de 1789 à 1815."}},
		 {NULL, NULL, NULL, {NULL}},
	 }},
};

#define PAGE_W 595.0
#define PAGE_H 842.0
#define MARGIN 60.0

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int len)
{
	return buf_add(closure, data, len) == ENT_OK ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Draws text wrapped at word boundaries from y; returns the next line's y. */
static double draw_wrapped(cairo_t *cr, const char *text, double y, double size, double width)
{
	cairo_set_font_size(cr, size);
	char line[512] = "";
	size_t ll = 0;
	const char *p = text;
	while (*p) {
		const char *sp = strchr(p, ' ');
		size_t wl = sp ? (size_t)(sp - p) : strlen(p);
		char trial[512];
		int n = snprintf(trial, sizeof(trial), "%s%s%.*s", line, ll ? " " : "", (int)wl, p);
		cairo_text_extents_t ext;
		cairo_text_extents(cr, trial, &ext);
		if (ll && ext.x_advance > width) {
			cairo_move_to(cr, MARGIN, y);
			cairo_show_text(cr, line);
			y += size * 1.45;
			snprintf(line, sizeof(line), "%.*s", (int)wl, p);
			ll = strlen(line);
		} else if (n > 0 && (size_t)n < sizeof(line)) {
			memcpy(line, trial, (size_t)n + 1);
			ll = (size_t)n;
		}
		p += wl;
		while (*p == ' ')
			p++;
	}
	if (ll) {
		cairo_move_to(cr, MARGIN, y);
		cairo_show_text(cr, line);
		y += size * 1.45;
	}
	return y;
}

int cours_make_pdf(const char *course, const char *title, const char *section, const char *const *paragraphs,
		   int nparagraphs, const char *teacher, buf *out)
{
	buf_init(out, 8u << 20);
	cairo_surface_t *sf = cairo_pdf_surface_create_for_stream(pdf_write, out, PAGE_W, PAGE_H);
	cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_AUTHOR, teacher);
	cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_SUBJECT, course);
	cairo_t *cr = cairo_create(sf);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_source_rgb(cr, 0.13, 0.27, 0.53);
	cairo_rectangle(cr, 0, 0, PAGE_W, 180);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 1, 1, 1);
	draw_wrapped(cr, course, 110, 24, PAGE_W - 2 * MARGIN);
	cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
	double y = draw_wrapped(cr, title, 300, 34, PAGE_W - 2 * MARGIN);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_ITALIC, CAIRO_FONT_WEIGHT_NORMAL);
	y = draw_wrapped(cr, section, y + 20, 16, PAGE_W - 2 * MARGIN);
	draw_wrapped(cr, teacher, y + 40, 14, PAGE_W - 2 * MARGIN);
	cairo_show_page(cr);
	cairo_select_font_face(cr, "DejaVu Serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	y = draw_wrapped(cr, title, MARGIN + 20, 20, PAGE_W - 2 * MARGIN) + 12;
	cairo_select_font_face(cr, "DejaVu Serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	for (int i = 0; i < nparagraphs && paragraphs[i]; i++) {
		if (strcmp(paragraphs[i], "\f") == 0) {
			cairo_show_page(cr);
			y = MARGIN + 20;
			continue;
		}
		y = draw_wrapped(cr, paragraphs[i], y, 12, PAGE_W - 2 * MARGIN) + 10;
	}
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(sf);
	int ok = cairo_surface_status(sf) == CAIRO_STATUS_SUCCESS && !out->failed && out->len > 0;
	cairo_surface_destroy(sf);
	if (!ok) {
		buf_free(out);
		return ENT_EIO;
	}
	return ENT_OK;
}

static int exec_params(db_conn *c, const char *sql, const char *const *v, int n)
{
	db_stmt *s = db_prepare(c, sql);
	if (!s)
		return ENT_EDB;
	for (int i = 0; i < n; i++)
		db_bind_text_or_null(s, i + 1, v[i]);
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

static int demo_course(db_conn *c, arena *a, const struct demo_course *dc, const char *year, FILE *out, int *made)
{
	char class_id[37];
	int rc = users_class_find(c, dc->class_name, year, class_id);
	if (rc == ENT_ENOTFOUND)
		return ENT_OK; /* the users demo did not create it: nothing to attach a course to */
	if (rc)
		return rc;
	struct user t;
	rc = users_find_login(c, a, dc->teacher_email, &t);
	if (rc == ENT_ENOTFOUND)
		return ENT_OK;
	if (rc)
		return rc;
	rc = SQL_RUN(c, "SELECT 1 FROM cours WHERE title = ? AND created_by = ?", SQL_T(dc->title), SQL_T(t.id));
	if (rc < 0)
		return rc;
	if (rc == DB_ROW)
		return ENT_OK;

	/* The files first (outside the transaction: blobs are not transactional), then the rows. */
	char file_ids[3][37] = {"", "", ""};
	for (int i = 0; i < 3 && dc->materials[i].title; i++) {
		buf pdf;
		const struct demo_material *m = &dc->materials[i];
		int np = 0;
		while (m->paragraphs[np])
			np++;
		if ((rc = cours_make_pdf(dc->title, m->title, m->section, m->paragraphs, np, t.name, &pdf)))
			goto undo_files;
		rc = fichiers_create(c, t.id, dc->materials[i].file_name, pdf.data, pdf.len, file_ids[i]);
		buf_free(&pdf);
		if (rc)
			goto undo_files;
	}
	char id[37], now[21];
	util_uuid(id);
	cours_now(now);
	if ((rc = db_begin(c)))
		goto undo_files;
	const char *cv[8] = {id, dc->title, dc->subject, dc->description, year, t.id, now, now};
	rc = exec_params(c,
			 "INSERT INTO cours (id, title, subject, description, school_year, created_by, created_at, "
			 "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			 cv, 8);
	const char *tv[2] = {id, t.id}, *kv[2] = {id, class_id};
	if (!rc)
		rc = exec_params(c, "INSERT INTO cours_teachers (cours_id, user_id) VALUES (?, ?)", tv, 2);
	if (!rc)
		rc = exec_params(c, "INSERT INTO cours_classes (cours_id, class_id) VALUES (?, ?)", kv, 2);
	for (int i = 0; !rc && i < 3 && dc->materials[i].title; i++) {
		const struct demo_material *m = &dc->materials[i];
		char mid[37];
		util_uuid(mid);
		rc = fichiers_attach(c, file_ids[i], t.id, id);
		if (rc)
			break;
		rc = SQL_RUN(c,
			     "INSERT INTO materials (id, cours_id, title, description, section, position, publish_at, "
			     "file_id, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
			     SQL_T(mid), SQL_T(id), SQL_T(m->title), SQL_T(m->paragraphs[0]), SQL_T(m->section),
			     SQL_I(i), SQL_T(file_ids[i]), SQL_T(t.id), SQL_T(now), SQL_T(now));
		rc = rc < 0 ? rc : ENT_OK;
		if (!rc)
			rc = cours_material_publish_state(c, mid, 0);
	}
	if (!rc)
		rc = db_commit(c);
	if (rc) {
		db_rollback(c);
		goto undo_files;
	}
	fprintf(out, "  %-32s %-8s %s\n", dc->title, dc->class_name, t.email ? t.email : t.id);
	(*made)++;
	return ENT_OK;
undo_files:
	for (int i = 0; i < 3; i++)
		if (file_ids[i][0])
			fichiers_delete(c, file_ids[i]);
	return rc;
}

int cours_demo(db_conn *c, FILE *out)
{
	arena *a = arena_new(0);
	char year[10];
	users_current_school_year(year);
	int made = 0, rc = ENT_OK;
	fprintf(out, "Demo courses (with PDF materials):\n");
	for (size_t i = 0; !rc && i < sizeof(demo_courses) / sizeof(demo_courses[0]); i++)
		rc = demo_course(c, a, &demo_courses[i], year, out, &made);
	if (!rc)
		fprintf(out, "%d courses created now (%s).\n", made,
			made ? "first run" : "already loaded, nothing changed");
	arena_free(a);
	/* cairo and fontconfig keep caches for the process's life: release them (the demo is a one-shot command). */
	cairo_debug_reset_static_data();
	FcFini();
	return rc;
}
