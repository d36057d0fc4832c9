"""青山 Qingshan: the dashboard. Start with ``streamlit run app.py``.

Thin by design: navigation and page chrome here; answers come from ``geo``,
maps from ``layers``, shared glue from ``ui``.
"""
from __future__ import annotations

import streamlit as st

from layers import localise
from layers import web_headers

web_headers.install()  # nosniff on media responses: attachments keep the type sniffed at upload (issue 26)
st.set_page_config(page_title="青山 · 生态整治监测", layout="wide")
localise.install()  # Streamlit's own words in Chinese, its ⋮ menu off (issue 25)

PAGES = [
    st.Page("views/overview.py", title="总览", url_path="", default=True),
    st.Page("views/wall.py", title="大屏", url_path="wall"),
    st.Page("views/progress.py", title="关停进度", url_path="progress"),
    st.Page("views/buffer.py", title="河岸缓冲", url_path="buffer"),
    st.Page("views/water.py", title="水质", url_path="water"),
    st.Page("views/patrol.py", title="巡查路线", url_path="patrol"),
    st.Page("views/complaints.py", title="信访投诉", url_path="complaints"),
    st.Page("views/inspect.py", title="巡查登记", url_path="inspect"),
    st.Page("views/site.py", title="一企一档", url_path="site"),
    st.Page("views/assess.py", title="乡镇考核", url_path="assess"),
    st.Page("views/data.py", title="数据", url_path="data"),
]

page = st.navigation(PAGES)
page.run()
