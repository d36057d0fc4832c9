"""水质 page (placeholder until its issue lands)."""
import streamlit as st

st.title("水质")
st.info("本页面正在建设中，尚无数据展示。 This page is being built; it shows no data yet.")
