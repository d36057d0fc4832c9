/* Qingshan: Streamlit's own words in Chinese (layers/localise.py injects this once per page load).
 *
 * Streamlit 1.67 has no translations: its widgets, toolbars, dialogs and status words are English.
 * A MutationObserver on the whole document rewrites, as they appear, the text nodes and the
 * placeholder / aria-label / title / alt attributes whose whole value is one of Streamlit's strings
 * (EXACT) or matches one of its templates (PATTERNS). Nothing else is touched: a value that is not
 * Streamlit's own passes unchanged, and neither do material-icon ligatures (their text is the icon's
 * name), code, editable text, iframes' titles (they name the component) nor Vega's chart descriptions.
 *
 * Served inline by the app itself (no CDN). Streamlit's HTML sanitiser drops a script whose text has
 * a less-than sign directly followed by a letter, slash or "!": keep a space after every one.
 */
(function () {
  "use strict";
  if (window.__qsZh) return;  // once per document: a page switch inserts the element again

  var RECONNECTING = "连接已断开，正在重新连接…";

  /* Streamlit's strings, exactly as its bundles write them (trimmed). */
  var EXACT = {
    // page chrome
    "Skip to main content": "跳到主要内容",
    "App pages": "应用页面",
    "Sidebar": "侧边栏",
    "Collapse sidebar": "收起侧边栏",
    "Expand sidebar": "展开侧边栏",
    "View less": "收起",
    "Navigate to home page": "回到首页",
    "Main menu": "主菜单",
    "Link to heading": "本节链接",
    "Scroll tabs left": "向左滚动标签",
    "Scroll tabs right": "向右滚动标签",
    "Notifications": "通知",
    "Close": "关闭",
    "Dismiss": "关闭",
    "Cancel": "取消",
    "Copy": "复制",
    "Copied": "已复制",
    "Help": "说明",
    // main menu (hidden, in case a deployment shows it)
    "Print": "打印",
    "Record screen": "录制屏幕",
    "Record a screencast": "录制屏幕",
    "Stop recording": "停止录制",
    "About": "关于",
    "Settings": "设置",
    "Theme": "主题",
    "Light": "浅色",
    "Dark": "深色",
    "System": "跟随系统",
    "Rerun": "重新运行",
    "Clear cache": "清除缓存",
    "Get help": "获取帮助",
    "Report a bug": "报告问题",
    "Copy version to clipboard": "复制版本号",
    // status widget (top right)
    "Running...": "正在运行…",
    "Stop": "停止",
    "Stopping...": "正在停止…",
    "Always rerun": "总是重新运行",
    "File change.": "文件已更改。",
    "Connecting": "正在连接",
    "Connecting to Streamlit server": "正在连接服务器",
    "Connecting to static app": "正在连接服务器",
    "Error": "出错",
    "Unable to connect to Streamlit server": "无法连接服务器",
    // connection and other dialogs
    "Connection error": "连接中断",
    "Streamlit server is not responding. Are you connected to the internet?": RECONNECTING,
    "Is Streamlit still running? If you accidentally stopped Streamlit, just restart it in your terminal:": RECONNECTING,
    "Connection lost. Please wait for the app to reconnect, then try again.": "连接已断开，请等待重新连接后再试。",
    "Connection timed out.": "连接超时。",
    "Connection timed out": "连接超时",
    "Network error": "网络错误",
    "No response received from server": "服务器没有响应",
    "Error setting up request to server": "无法向服务器发送请求",
    "Script execution error": "页面运行出错",
    "Page not found": "页面不存在",
    "Try again": "重试",
    "Continue anyway": "仍然继续",
    // input instructions
    "Press Enter to apply": "按回车键确认",
    "Press Enter to submit form": "按回车键提交",
    "Press Ctrl+Enter to apply": "按 Ctrl+回车键确认",
    "Press Ctrl+Enter to submit form": "按 Ctrl+回车键提交",
    "Press ⌘+Enter to apply": "按 ⌘+回车键确认",
    "Press ⌘+Enter to submit form": "按 ⌘+回车键提交",
    // select boxes and multiselects
    "Choose an option": "请选择",
    "Choose options": "请选择（可多选）",
    "Choose or add an option": "请选择或输入",
    "Choose or add options": "请选择或输入（可多选）",
    "Add an option": "请输入",
    "Add options": "请输入（可多个）",
    "No options to select": "没有可选项",
    "No options to select.": "没有可选项。",
    "No results": "无匹配结果",
    "Select all": "全选",
    "Clear all": "全部清除",
    "Clear value": "清除",
    "Open": "展开选项",
    "Selectbox options": "选项",
    "Multiselect options": "选项",
    "Selected values": "已选",
    "Select...": "请选择",
    // text, number and date inputs
    "Clear entry": "清除内容",
    "Show password": "显示输入的字符",
    "Hide password": "隐藏输入的字符",
    "Increment": "增加",
    "Decrement": "减少",
    "Choose date": "选择日期",
    "Choose date range": "选择日期范围",
    "Clear date": "清除日期",
    "Clear dates": "清除日期",
    "Next month": "下个月",
    "Previous month": "上个月",
    "Next year": "下一年",
    "Previous year": "上一年",
    "Today": "今天",
    "Use arrow keys to navigate dates. Enter to select. Escape to close.": "用方向键选择日期，回车键确认，退出键关闭。",
    "Quick select a date range": "快速选择日期范围",
    "Date range": "日期范围",
    // file uploader
    "Upload": "上传",
    "Add files": "添加文件",
    "Upload directories": "上传文件夹",
    "Drag and drop a file here": "把文件拖到这里",
    "Drag and drop files here": "把文件拖到这里",
    "Drag and drop directories here": "把文件夹拖到这里",
    "File size is too small.": "文件太小。",
    "Only one file is allowed.": "只能上传一个文件。",
    "Unexpected error. Please try again.": "上传出错，请重试。",
    "Upload failed": "上传失败",
    "Click to retry upload": "点击重新上传",
    "Too many files": "文件过多",
    "Uploading...": "正在上传…",
    // camera
    "Take Photo": "拍照",
    "Clear photo": "清除照片",
    "Switch camera": "切换摄像头",
    "This app would like to use your camera.": "本页需要使用摄像头拍照。",
    "Learn how to allow access.": "如何允许使用摄像头",
    "Snapshot": "照片",
    // tables (st.dataframe / st.data_editor) and chart toolbars
    "Download as CSV": "将本表导出为 CSV",  // not "下载 CSV": pages have their own buttons of that name
    "Search": "搜索",
    "Type to search": "输入关键字搜索",
    "Close Search": "关闭搜索",
    "Next Result": "下一个结果",
    "Previous Result": "上一个结果",
    "Fullscreen": "全屏",
    "Close fullscreen": "退出全屏",
    "Exit fullscreen": "退出全屏",
    "Show/hide columns": "显示/隐藏列",
    "(index)": "（行号）",
    "Clear selection": "清除选择",
    "Add row": "添加行",
    "Delete row(s)": "删除行",
    "Cancel (Escape)": "取消（退出键）",
    "Dataframe column menu": "列菜单",
    "Copy column name": "复制列名",
    "Sort ascending": "升序",
    "Sort descending": "降序",
    "Format": "格式",
    "Pin column": "固定列",
    "Unpin column": "取消固定",
    "Hide column": "隐藏列",
    "Automatic": "自动",
    "Localized": "本地格式",
    "Plain": "普通",
    "Compact": "紧凑",
    "Dollar": "美元",
    "Euro": "欧元",
    "Yen": "日元",
    "Percent": "百分比",
    "Scientific": "科学计数法",
    "Accounting": "会计格式",
    "Duration": "时长",
    "Distance": "相对时间",
    "Calendar": "日历",
    "Statistics": "统计",
    "Based on sample": "基于抽样",
    "Count": "计数",
    "Distinct": "不同值",
    "Empty": "空值",
    "Minimum": "最小值",
    "Maximum": "最大值",
    "Average": "平均值",
    "Median": "中位数",
    "Sum": "合计",
    "Range": "范围",
    "Values": "数值",
    "Standard deviation": "标准差",
    "Average length": "平均长度",
    "Minimum length": "最短长度",
    "Maximum length": "最长长度",
    "True": "是",
    "False": "否",
    "No data": "无数据",
    "No content": "无内容",
    "No options": "无选项",
    "Show data": "查看数据",
    "Download as PNG": "下载图片（PNG）",
    "Download as SVG": "下载图片（SVG）",
    "Copy Vega-Lite spec": "复制图表定义",
    "Vega visualization": "图表",
    "Audio player": "音频播放器",
    "Video player": "视频播放器"
  };

  /* Templates: the first that matches the whole (trimmed) value wins. */
  var PATTERNS = [
    [/^(\d+(?:\.\d+)?)\s*(KB|MB|GB) per file$/, "单个文件不超过 $1 $2"],
    [/^File must be (\d+(?:\.\d+)?)\s*(KB|MB|GB) or smaller\.$/, "文件不能超过 $1 $2。"],
    [/^File is larger than (.+)$/, "文件超过 $1"],
    [/^(.+) files are not allowed\.$/, "不接受此类型的文件。"],
    [/^Remove (.+)$/, "移除 $1"],
    [/^Cancel upload of (.+)$/, "取消上传 $1"],
    [/^Help for (.+)$/, "$1：说明"],
    [/^Select (\d+) matches$/, "选择 $1 个匹配项"],
    [/^View (\d+) more$/, "再显示 $1 项"],
    [/^(\d+) options? available\.$/, "共 $1 项。"],
    [/^You can only select up to (\d+) .*$/, "最多只能选 $1 项，请先移除一项。"],
    [/^(day|month|year|hour|minute), (.+)$/, function (m, part, label) {
      return label + "（" + {day: "日", month: "月", year: "年", hour: "时", minute: "分"}[part] + "）";
    }],
    [/^Choose date, (.+)$/, "选择日期，$1"],
    [/^Choose date range, (.+)$/, "选择日期范围，$1"],
    [/^Add: (.+)$/, "添加：$1"],
    [/^Save \((.+)\+Enter\)$/, "保存（$1+回车键）"],
    [/^Cannot connect to Streamlit \(HTTP status: (\d+)\)\.?[\s\S]*$/, "无法连接服务器（状态码 $1），请刷新页面或联系系统管理员。"],
    [/^Made with Streamlit/, "青山 · 生态整治监测"]
  ];

  var ATTRS = ["placeholder", "aria-label", "title", "alt"];
  // an icon's text is its name (a ligature): never translate it; nor what a person types or a code block shows
  var SKIP_ATTRS = "[data-testid=stIconMaterial], [data-testid=stIconEmoji], script, style";
  var SKIP_TEXT = SKIP_ATTRS + ", code, pre, textarea, [contenteditable=true]";
  var LATIN = /[A-Za-z]/;

  function translate(value) {
    var t = value.trim();
    if (!t || !LATIN.test(t)) return null;
    var out = Object.prototype.hasOwnProperty.call(EXACT, t) ? EXACT[t] : null;
    for (var i = 0; out === null && i !== PATTERNS.length; i++) {
      if (PATTERNS[i][0].test(t)) out = t.replace(PATTERNS[i][0], PATTERNS[i][1]);
    }
    return out === null ? null : value.replace(t, out);
  }

  /* The connection dialog: whatever Streamlit says in it (there are several variants, some with a
   * shell command to restart the server), the person reads that the page is reconnecting. */
  function connectionDialog(node) {
    var box = node.closest && node.closest("[role=dialog]");
    if (!box) return false;
    var text = box.textContent || "";
    if (text.indexOf("Connection error") === -1 && text.indexOf(EXACT["Connection error"]) === -1) return false;
    box.querySelectorAll("pre, code, [data-testid=stCode]").forEach(function (c) { c.style.display = "none"; });
    return true;
  }

  function doText(node) {
    var el = node.parentElement;
    if (!el || el.closest(SKIP_TEXT)) return;
    var out = translate(node.nodeValue);
    if (out === null && LATIN.test(node.nodeValue) && connectionDialog(el) && !el.closest("h1, h2, h3")) {
      out = RECONNECTING;
    }
    if (out !== null && out !== node.nodeValue) node.nodeValue = out;
    if (out !== null && el.closest("[role=dialog]")) connectionDialog(el);
  }

  function doAttrs(el) {
    if (el.closest(SKIP_ATTRS)) return;
    for (var i = 0; i !== ATTRS.length; i++) {
      var name = ATTRS[i];
      if (name === "title" && el.tagName === "IFRAME") continue;  // names the component; tests find it so
      var v = el.getAttribute(name);
      if (!v) continue;
      var out = translate(v);
      if (out !== null && out !== v) el.setAttribute(name, out);
    }
  }

  function walk(root) {
    if (root.nodeType === 3) { doText(root); return; }
    if (root.nodeType !== 1 || root.namespaceURI === "http://www.w3.org/2000/svg") return;  // charts: Vega's own
    doAttrs(root);
    var w = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
      acceptNode: function (n) {
        return n.nodeType === 1 && n.namespaceURI === "http://www.w3.org/2000/svg"
          ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
      }
    });
    for (var n = w.nextNode(); n; n = w.nextNode()) {
      if (n.nodeType === 3) doText(n); else doAttrs(n);
    }
  }

  var observer = new MutationObserver(function (records) {
    for (var i = 0; i !== records.length; i++) {
      var r = records[i];
      if (r.type === "characterData") doText(r.target);
      else if (r.type === "attributes") { if (r.target.namespaceURI !== "http://www.w3.org/2000/svg") doAttrs(r.target); }
      else for (var j = 0; j !== r.addedNodes.length; j++) walk(r.addedNodes[j]);
    }
  });
  observer.observe(document.documentElement, {subtree: true, childList: true, characterData: true,
                                              attributes: true, attributeFilter: ATTRS});
  document.documentElement.lang = "zh-CN";  // screen readers and CJK glyph choice
  walk(document.body);
  window.__qsZh = {translate: translate, version: 1};
})();
