"""The brief's own words in the export's language: headings, page numbers, dates.

The content comes from Payload in the chosen locale; these are the words the brief adds
around it. A locale is matched by its language (`de-CH` → `de`); an unknown one gets
English. Ship a language by adding its table (every key of `EN`) and its date format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_LANGUAGE = "en"

EN: Mapping[str, str] = {
    "brief": "Project brief",
    "contents": "Contents",
    "summary": "Summary",
    "details": "Project details",
    "media": "Media appendix",
    "page_before": "page ",
    "page_between": " of ",
    "page_after": "",
    "exported": "Exported {date}",
    "draft": "Draft — not published",
    "chapter_of": "{n} of {total}",
    "no_summary": "No summary yet.",
    "no_details": "No further fields.",
    "empty_script": "This script is empty.",
    "no_media": "This project has no media.",
    "preview": "Preview",
    "file": "File",
    "type": "Type",
    "size": "Size",
    "dimensions": "Dimensions / duration",
    "scripts_count": "Scripts",
    "media_count": "Media",
    "team": "Team",
    "date": "Date",
    "yes": "Yes",
    "no": "No",
    "timeline": "Timeline",
    "clip": "Clip {n}",
    "title_card": "Title “{text}” at {at} for {duration}",
    "locale": "Language",
    "kind_script": "Script",
    "kind_story": "Story",
    "kind_treatment": "Treatment",
    "kind_notes": "Notes",
}

LABELS: Mapping[str, Mapping[str, str]] = {
    "en": EN,
    "de": {
        **EN,
        "brief": "Projektbriefing",
        "contents": "Inhalt",
        "summary": "Zusammenfassung",
        "details": "Projektdetails",
        "media": "Medienanhang",
        "page_before": "Seite ",
        "page_between": " von ",
        "exported": "Exportiert am {date}",
        "draft": "Entwurf — nicht veröffentlicht",
        "chapter_of": "{n} von {total}",
        "no_summary": "Noch keine Zusammenfassung.",
        "no_details": "Keine weiteren Felder.",
        "empty_script": "Dieser Text ist leer.",
        "no_media": "Dieses Projekt hat keine Medien.",
        "preview": "Vorschau",
        "file": "Datei",
        "type": "Typ",
        "size": "Größe",
        "dimensions": "Abmessungen / Dauer",
        "scripts_count": "Texte",
        "media_count": "Medien",
        "team": "Team",
        "date": "Datum",
        "yes": "Ja",
        "no": "Nein",
        "timeline": "Zeitleiste",
        "clip": "Clip {n}",
        "title_card": "Titel „{text}“ bei {at} für {duration}",
        "locale": "Sprache",
        "kind_script": "Drehbuch",
        "kind_story": "Geschichte",
        "kind_treatment": "Treatment",
        "kind_notes": "Notizen",
    },
    "fr": {
        **EN,
        "brief": "Dossier de projet",
        "contents": "Sommaire",
        "summary": "Résumé",
        "details": "Détails du projet",
        "media": "Annexe des médias",
        "page_before": "page ",
        "page_between": " sur ",
        "exported": "Exporté le {date}",
        "draft": "Brouillon — non publié",
        "chapter_of": "{n} sur {total}",
        "no_summary": "Pas encore de résumé.",
        "no_details": "Aucun autre champ.",
        "empty_script": "Ce texte est vide.",
        "no_media": "Ce projet n’a aucun média.",
        "preview": "Aperçu",
        "file": "Fichier",
        "type": "Type",
        "size": "Taille",
        "dimensions": "Dimensions / durée",
        "scripts_count": "Textes",
        "media_count": "Médias",
        "team": "Équipe",
        "date": "Date",
        "yes": "Oui",
        "no": "Non",
        "timeline": "Montage",
        "clip": "Plan {n}",
        "title_card": "Titre « {text} » à {at} pendant {duration}",
        "locale": "Langue",
        "kind_script": "Scénario",
        "kind_story": "Récit",
        "kind_treatment": "Traitement",
        "kind_notes": "Notes",
    },
    "es": {
        **EN,
        "brief": "Dosier del proyecto",
        "contents": "Índice",
        "summary": "Resumen",
        "details": "Detalles del proyecto",
        "media": "Anexo de medios",
        "page_before": "página ",
        "page_between": " de ",
        "exported": "Exportado el {date}",
        "draft": "Borrador — no publicado",
        "chapter_of": "{n} de {total}",
        "no_summary": "Todavía no hay resumen.",
        "no_details": "No hay más campos.",
        "empty_script": "Este texto está vacío.",
        "no_media": "Este proyecto no tiene medios.",
        "preview": "Vista previa",
        "file": "Archivo",
        "type": "Tipo",
        "size": "Tamaño",
        "dimensions": "Dimensiones / duración",
        "scripts_count": "Textos",
        "media_count": "Medios",
        "team": "Equipo",
        "date": "Fecha",
        "yes": "Sí",
        "no": "No",
        "timeline": "Montaje",
        "clip": "Plano {n}",
        "title_card": "Título «{text}» en {at} durante {duration}",
        "locale": "Idioma",
        "kind_script": "Guion",
        "kind_story": "Relato",
        "kind_treatment": "Tratamiento",
        "kind_notes": "Notas",
    },
    "ja": {
        **EN,
        "brief": "プロジェクト概要書",
        "contents": "目次",
        "summary": "概要",
        "details": "プロジェクト詳細",
        "media": "メディア一覧",
        "page_before": "",
        "page_between": " / ",
        "page_after": " ページ",
        "exported": "{date} 出力",
        "draft": "下書き — 未公開",
        "chapter_of": "{n} / {total}",
        "no_summary": "概要はまだありません。",
        "no_details": "その他の項目はありません。",
        "empty_script": "このテキストは空です。",
        "no_media": "このプロジェクトにはメディアがありません。",
        "preview": "プレビュー",
        "file": "ファイル",
        "type": "種類",
        "size": "サイズ",
        "dimensions": "寸法 / 長さ",
        "scripts_count": "テキスト",
        "media_count": "メディア",
        "team": "チーム",
        "date": "日付",
        "yes": "はい",
        "no": "いいえ",
        "timeline": "タイムライン",
        "clip": "クリップ {n}",
        "title_card": "タイトル「{text}」{at} から {duration}",
        "locale": "言語",
        "kind_script": "脚本",
        "kind_story": "ストーリー",
        "kind_treatment": "トリートメント",
        "kind_notes": "メモ",
    },
}

_MONTHS: Mapping[str, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
}  # fmt: skip
_DATE_FORMATS: Mapping[str, str] = {
    "en": "{d} {month} {y}",
    "de": "{d}. {month} {y}",
    "fr": "{d} {month} {y}",
    "es": "{d} de {month} de {y}",
    "ja": "{y}年{m}月{d}日",
}


def language_of(locale: str | None) -> str:
    """The shipped language for a locale code (`de-CH` → `de`), English otherwise."""
    language = (locale or "").replace("_", "-").split("-", 1)[0].lower()
    return language if language in LABELS else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Labels:
    """The brief's words in one language: `labels["contents"]`, `labels.date(moment)`."""

    language: str

    def __getitem__(self, key: str) -> str:
        return LABELS[self.language][key]

    def kind(self, kind: str) -> str:
        """A script kind's name (`treatment` → `Treatment`); unknown kinds as written."""
        return LABELS[self.language].get(f"kind_{kind}", kind.capitalize())

    def date(self, moment: datetime, *, with_time: bool = False) -> str:
        """A date in this language's format, in UTC; `with_time` adds `14:03 UTC`."""
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        months = _MONTHS.get(self.language, _MONTHS["en"])
        text = _DATE_FORMATS[self.language].format(
            d=utc.day, m=utc.month, y=utc.year, month=months[utc.month - 1]
        )
        return f"{text}, {utc:%H:%M} UTC" if with_time else text


def labels_for(locale: str | None) -> Labels:
    """The labels of a locale's language."""
    return Labels(language_of(locale))
