"""The dashboard pages: Streamlit scripts that ``st.navigation`` in ``tracereel/dashboard/app.py`` runs (not
named ``pages/``, which Streamlit would also list on its own)."""
