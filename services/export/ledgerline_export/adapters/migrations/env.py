from ledgerline_export.adapters.orm import Base
from ledgerline_shared.migrations import run_env

run_env(Base.metadata)
