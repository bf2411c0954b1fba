"""A real PDF: written by the house builder, opened and read back with pypdf."""

from __future__ import annotations

import io

from pypdf import PdfReader

from abonent.kit.pdf import Column, Document


def test_cyrillic_document_reads_back() -> None:
    doc = Document("Выписка по лицевому счёту")
    doc.line("Лицевой счёт ••••9940")
    doc.table(
        [Column("Услуга", 60), Column("Сумма", 40, "R")],
        [["Мобильная связь", "1 050,00 ₽"], ["Интернет", "397,01 ₽"]],
    )
    data = doc.bytes()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = reader.pages[0].extract_text()
    assert "Выписка по лицевому счёту" in text
    assert "Мобильная связь" in text
    assert "1 050,00 ₽" in text
    assert reader.metadata is not None and reader.metadata.title == "Выписка по лицевому счёту"


def test_long_table_repeats_header_on_every_page() -> None:
    doc = Document("Расчёт задолженности")
    rows = [[f"Начисление {i}", f"{i},00 ₽"] for i in range(200)]
    doc.table([Column("Начисление", 80), Column("Сумма", 40, "R")], rows)
    reader = PdfReader(io.BytesIO(doc.bytes()))
    assert len(reader.pages) > 1
    for page in reader.pages:
        assert "Начисление" in page.extract_text()
    assert "Начисление 199" in reader.pages[-1].extract_text()
