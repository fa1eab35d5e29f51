"""The deposit pipeline (DESIGN §1), one module a stage, read top to bottom:

1. :mod:`.options` — what a deposit is asked (statement, sources, services parts) and its result;
2. :mod:`.statement` — the deposit number and statement (leaf 0);
3. :mod:`.items` — the item spool: records numbered, spooled and folded into the trees;
4. :mod:`.reading` — every input read, hashed, stored and analysed into the spool (with evidencectl.intake's
   worker processes for many small files);
5. :mod:`.seal` — the roots and manifest.json (signed or not);
6. :mod:`.proofs` — timestamps and anchors over the roots;
7. :mod:`.publish` — published and recorded complete, or recorded pending;
8. :mod:`.resume` — pending deposits finished later.

:mod:`.pipeline` runs them in order.
"""

from .items import ItemSpool
from .options import (
    AnalyzeSettings,
    DepositOptions,
    DepositResult,
    ServiceOptions,
    SourceOptions,
    StatementOptions,
)
from .pipeline import deposit
from .proofs import Proofs, label_for, obtain_proofs
from .resume import resume
from .seal import manifest_chunks
from .state import ResumeState, ServiceFailure
from .statement import build_statement, new_deposit_id

__all__ = [
    "AnalyzeSettings",
    "DepositOptions",
    "DepositResult",
    "ItemSpool",
    "Proofs",
    "ResumeState",
    "ServiceFailure",
    "ServiceOptions",
    "SourceOptions",
    "StatementOptions",
    "build_statement",
    "deposit",
    "label_for",
    "manifest_chunks",
    "new_deposit_id",
    "obtain_proofs",
    "resume",
]
