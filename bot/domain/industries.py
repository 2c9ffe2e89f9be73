"""GB/T 4754-2017 国民经济行业分类: all four levels, and which class a firm's own words describe.

The forms ask for the 大类 (two digits). A firm says what it does ("注塑加工", "汽车维修"), so its words
are searched against the official 小类 and 中类 names: each name is a small document of characters and
character pairs, weighted by how rare they are across the standard (a rare character such as 塑 says
more than 制 or 业), and scored by how much of the firm's words it explains. A short table of everyday
words the standard does not use (注塑, 货代, 月嫂, software …) supplements the names; it never replaces
them. Character n-grams need no word list: a standard's names are short and a firm's words are shorter,
so a tokenizer's dictionary (jieba's is 20 MB, loaded in a second) would add weight and no precision.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "industries-gbt4754-2017-full.csv"


@dataclass(frozen=True, slots=True)
class Industry:
    code: str  # two digits, "01" … "97"
    name: str  # 大类名称
    section: str  # 门类 letter, "A" … "T"
    section_name: str  # 门类名称

    @property
    def display(self) -> str:
        return f"{self.code} {self.name}"


@dataclass(frozen=True, slots=True)
class IndustryClass:
    """A 中类 (three digits) or 小类 (four digits)."""

    code: str
    level: str  # 中类 | 小类
    name: str

    @property
    def division(self) -> str:
        return self.code[:2]

    @property
    def display(self) -> str:
        return f"{self.code} {self.name}"


@cache
def _rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@cache
def industries() -> dict[str, Industry]:
    """The 97 大类 by code."""
    sections = {r["code"]: r["name"] for r in _rows() if r["level"] == "门类"}
    return {r["code"]: Industry(r["code"], r["name"], r["parent"], sections[r["parent"]])
            for r in _rows() if r["level"] == "大类"}


@cache
def classes() -> dict[str, IndustryClass]:
    """The 473 中类 and 1381 小类 by code."""
    return {r["code"]: IndustryClass(r["code"], r["level"], r["name"])
            for r in _rows() if r["level"] in ("中类", "小类")}


def industry(code: str) -> Industry | None:
    return industries().get(code)


def industry_name(code: str) -> str:
    """"39" → "计算机、通信和其他电子设备制造业"; an unknown code comes back unchanged."""
    ind = industries().get(code)
    return ind.name if ind else code


# -- from a firm's words to a 大类 ------------------------------------------------------------------

# Everyday words the standard's names do not use (or use for something else), and the classes they
# mean, likeliest first: a 小类 or 中类 where the word is that precise, else a 大类. A supplement to the
# names, found anywhere in the answer (Latin words as whole words; a plural s is fine).
WORDS: dict[str, tuple[str, ...]] = {
    # 农、林、牧、渔
    "养殖": ("03", "04"), "种植": ("01",), "大棚": ("0141",), "果园": ("015",), "苗圃": ("0212",),
    "苗木": ("0212", "0149"), "茶园": ("0164",),
    "水产": ("041",), "虾": ("041",), "鱼塘": ("0412",), "植保": ("0515",), "农机": ("0512", "3572"), "农业": ("01",),
    # 采矿
    "煤矿": ("0610",), "采石": ("1019", "1012"), "砂石": ("1019",), "油田": ("0711", "1120"),
    # 制造
    "注塑": ("2929",), "吹塑": ("2921", "2926"), "塑料袋": ("2921",), "烘焙": ("1411",), "牛奶": ("1441",),
    "酿酒": ("151",), "酿造": ("151", "1462"), "桶装水": ("1522",), "矿泉水": ("1522",),
    "纯净水": ("1522",), "卷烟": ("1620",), "服装": ("18",), "制衣": ("1819",), "成衣": ("1819",),
    "鞋": ("195",), "箱包": ("1922",), "纸箱": ("2231",), "彩印": ("2319",), "化肥": ("262",),
    "洗衣液": ("2681",), "洗涤": ("2681",), "疫苗": ("2762",), "制药": ("27",), "医药": ("27", "5151"),
    "混凝土": ("3021",), "瓷砖": ("3071",), "压铸": ("3392", "3391"), "电镀": ("3360",), "喷涂": ("3360", "2641"),
    "铝型材": ("3252",), "厨具": ("3381", "5135"), "炼油": ("2511",), "秤": ("4050",), "铸件": ("3391", "3392"),
    "冲压": ("3399", "3484"), "钣金": ("3399", "3484"), "五金": ("33", "5174"), "机加工": ("3484",),
    "机械加工": ("3484",), "数控": ("3421", "3484"), "cnc": ("3484", "3421"), "模具": ("3525",),
    "医疗器械": ("358",), "环保设备": ("3591",), "新能源汽车": ("3612",), "新能源车": ("3612",),
    "电动汽车": ("3612",), "汽车": ("36",), "零部件": ("3670", "348"), "造船": ("3731",), "船舶": ("373",),
    "电动自行车": ("3770",), "电动车": ("3770", "3612"), "锂电": ("3841",), "电池": ("384",),
    "光伏": ("3825", "4416"), "储能": ("3841", "38"), "灯具": ("3872",), "led": ("3872", "3975"),
    "家电": ("385",), "空调": ("3852", "3464"), "冰箱": ("3851",), "手机": ("3922",),
    "芯片": ("3973", "6520"), "晶圆": ("3973",), "封装": ("3973",), "半导体": ("397",), "pcb": ("3982",),
    "线路板": ("3982",), "电路板": ("3982",), "传感器": ("3983",), "智能手表": ("3961",),
    "手环": ("3961",), "可穿戴": ("3961",), "无人机": ("3963", "3744"), "电子": ("39",), "自动化": ("4011",),
    "plc": ("4011",), "仪器": ("40",), "仪表": ("40",), "废旧": ("4210", "4220", "5191"), "回收": ("5191", "42"),
    "机器人": ("3491", "3964"), "3d打印": ("3493", "7517"), "新材料": ("26", "30", "32"),
    "材料": ("26", "30", "32"), "化工": ("26",), "生物": ("27", "73"), "电气": ("38",), "电机": ("381",),
    "机械": ("34", "35"), "设备": ("35", "34"), "集成电路": ("3973",), "计算机": ("391",),
    "通信": ("392", "63"), "显示": ("3974",), "纺织": ("17",), "食品": ("14", "13"), "钢铁": ("31",),
    "有色": ("32",), "金属": ("33",), "塑料": ("292",), "橡胶": ("291",), "航空": ("374",),
    "航天": ("374",), "轨道交通": ("372",), "家具": ("21",), "造纸": ("22",), "印刷": ("231",),
    # 电力、燃气、水
    "发电": ("441",), "风电": ("4415",), "供热": ("4430",), "供暖": ("4430",), "燃气": ("45",),
    "天然气": ("4511", "0721"), "电力": ("44",), "自来水": ("4610",), "污水": ("4620", "7721"),
    "节能": ("7514", "4861"),
    # 建筑
    "房建": ("47",), "建筑施工": ("47", "48"), "总承包": ("47", "48"), "市政": ("4813", "7810"),
    "绿化": ("4891", "7840"), "园林": ("4891",), "路桥": ("481",), "桥梁": ("4819",), "隧道": ("4819",),
    "水电安装": ("4920", "4910"), "机电安装": ("4920", "4910"), "装修": ("501",), "装潢": ("501",),
    "家装": ("5012",), "幕墙": ("5013",), "建筑": ("47", "48", "49", "50"),
    # 批发和零售
    "外贸": ("5181", "51"), "进出口": ("5181", "51"), "贸易": ("51",), "批发": ("51",), "商贸": ("51",),
    "超市": ("5212",), "便利店": ("5213",), "网店": ("5292",), "淘宝": ("5292",), "电商": ("5292", "6431"),
    "加油站": ("5265",), "4s店": ("5261",), "药店": ("5251",), "药房": ("5251",), "零售": ("52",),
    # 交通运输、仓储和邮政
    "公交": ("5411",), "出租车": ("5413",), "网约车": ("5413",), "货运": ("543", "5821"),
    "货车": ("5431",), "冷链": ("5432", "5930"), "货代": ("5821",), "物流": ("54", "58", "59"),
    "冷库": ("5930",), "快递": ("6020",), "航运": ("552",), "海运": ("5521", "5522"), "仓储": ("59",),
    # 住宿和餐饮
    "酒店": ("6110", "6121"), "宾馆": ("6129",), "民宿": ("6130",), "餐馆": ("6210",), "饭店": ("6210", "6110"),
    "餐厅": ("6210",), "奶茶": ("6239",), "外卖": ("6242",), "咖啡": ("6232",), "餐饮": ("62",),
    # 信息传输、软件和信息技术服务
    "宽带": ("6410", "6311"), "网游": ("6422",), "游戏": ("6422", "6572"), "电商平台": ("6432", "6431"),
    "app": ("6513",), "小程序": ("6513",), "软件": ("65",), "信息技术": ("65",), "人工智能": ("65",),
    "大数据": ("6450", "65"), "云计算": ("6550", "64"), "数据中心": ("6550",), "物联网": ("6532",),
    "互联网": ("64",), "数据": ("65", "64"), "平台": ("643",), "运维": ("6540",), "it": ("65",),
    "集成电路设计": ("6520",), "芯片设计": ("6520",), "动漫": ("6572",), "客服外包": ("6591",),
    # 金融、房地产
    "小贷": ("6635",), "贷款": ("6635", "6621"), "典当": ("6633",), "创投": ("6731",), "风投": ("6731",),
    "风险投资": ("6731",), "支付": ("6930",), "房地产": ("70",), "房产中介": ("7030",), "地产": ("70",),
    # 租赁和商务服务
    "律所": ("7231",), "律师": ("7231",), "记账": ("7241",), "会计": ("7241",), "审计": ("7241",),
    "财税": ("7241",), "广告": ("725",), "猎头": ("7262",), "招聘": ("7262",), "人力资源": ("726",),
    "保安": ("7271",), "安保": ("7271",), "会展": ("728",), "展会": ("728",), "展览": ("728",),
    "翻译": ("7294",), "咨询": ("724",), "管理咨询": ("7243",), "供应链": ("7224",), "旅游": ("7291", "786"),
    # 科学研究和技术服务
    "研发": ("73",), "科研": ("73",), "新药": ("7340",), "cro": ("7340",), "检测": ("7452", "7461"),
    "检验": ("7452",), "认证": ("7455",), "设计": ("748", "749"), "监理": ("7482",), "测绘": ("744",),
    "专利": ("7520",), "商标": ("7520",), "技术转移": ("7530",), "孵化器": ("7540",), "众创空间": ("7540",),
    "技术服务": ("75", "74"),
    # 水利、环境和公共设施
    "危废": ("7724",), "固废": ("7723",), "环保": ("772",), "环卫": ("7820",), "垃圾": ("7820", "7723"),
    "景区": ("786",),
    # 居民服务、修理和其他服务
    "家政": ("8010",), "保姆": ("8010",), "月嫂": ("8010",), "育儿嫂": ("8010",), "理发": ("8040",),
    "美发": ("8040",), "美容": ("8040",), "干洗": ("8030",), "洗衣": ("8030",), "婚庆": ("8070",),
    "足疗": ("8052",), "按摩": ("8053",), "维修": ("81", "43"), "修车": ("8111",), "汽修": ("8111",),
    "保洁": ("8219", "8211"), "宠物": ("822",),
    # 教育、卫生、社会工作
    "驾校": ("8391",), "幼儿园": ("8310",), "托育": ("8020",), "培训": ("839",), "教育": ("83",), "医院": ("841",), "诊所": ("8425",),
    "口腔": ("8425", "8415"), "体检": ("8491",), "养老": ("8514",),
    # 文化、体育和娱乐
    "影视": ("8730",), "出版": ("862",), "电影": ("8760", "8730"), "录音": ("8770",), "演出": ("8810",),
    "演艺": ("8810",), "文化": ("88", "86"), "健身": ("8930",), "ktv": ("9011",), "网吧": ("9013",),
    # 社会组织
    "协会": ("9522", "9521"), "商会": ("9522",), "居委会": ("9610",), "国际组织": ("97",), "村委会": ("9620",),
    # common products and services, by what people call them
    "葡萄": ("0152",), "香菇": ("0142",), "蘑菇": ("0142",), "花卉": ("0143",), "中药材": ("0171",),
    "养猪": ("0313",), "养牛": ("0311",), "养羊": ("0314",), "养鸡": ("0321",), "养鸭": ("0322",),
    "养蜂": ("0392",), "捕捞": ("042",), "渔船": ("042", "3731"), "采煤": ("0610",), "稀土": ("0932", "3232"),
    "面粉": ("1312",), "食用油": ("1331",), "榨油": ("1331",), "粮油": ("1331", "5121", "5221"),
    "水饺": ("1432",), "速冻": ("1432",), "酱油": ("1462",), "醋": ("1462",), "调味品": ("146",),
    "啤酒": ("1513",), "白酒": ("1512",), "果汁": ("1523",), "饮料": ("152",), "零食": ("1499", "1419"),
    "家纺": ("177",), "四件套": ("1771",), "毛巾": ("1772",), "袜子": ("1763",), "针织": ("176",),
    "运动鞋": ("1951", "1954"), "皮鞋": ("1952",), "童装": ("1819",), "羽绒服": ("1942", "1819"),
    "胶合板": ("2021",), "板材": ("202",), "门窗": ("3312", "2032"), "木门": ("2032",), "办公家具": ("2110", "2130"),
    "生活用纸": ("2221",), "纸巾": ("2221",), "卫生纸": ("2221",), "书刊": ("2311",), "钢琴": ("2422",),
    "乐器": ("242",), "珠宝": ("2438", "5245"), "首饰": ("2438", "5245"), "工艺品": ("243",),
    "润滑油": ("2511",), "油漆": ("2641",), "涂料": ("2641",), "胶水": ("2669",), "农药": ("263",),
    "牙膏": ("2683",), "香精": ("2684",), "香料": ("2684",), "原料药": ("2710",), "化学药": ("2720",),
    "口罩": ("2770", "1781"), "纱布": ("2770",), "塑料管": ("2922",), "管材": ("2922", "3130"), "泡沫": ("2924",),
    "塑料瓶": ("2926",), "水泥": ("3011",), "砖": ("3031",), "石材": ("3032",), "玻璃": ("304", "305"),
    "陶瓷": ("307",), "碳素": ("3091",), "石墨": ("3091", "1092"), "钢管": ("3130",), "钢材": ("3130", "5164"),
    "铜管": ("3251",), "铜材": ("3251",), "铝材": ("3252",), "刀具": ("3321", "3324"), "工具": ("332",),
    "螺丝": ("3482",), "螺母": ("3482",), "螺栓": ("3482",), "弹簧": ("3483",), "减速机": ("3453",),
    "齿轮": ("3453",), "电梯": ("3435",), "叉车": ("3433",), "起重机": ("3432", "3431"), "泵": ("3441",),
    "压缩机": ("3442",), "风机": ("3462",), "包装机": ("3467",), "锅炉": ("3411",), "发动机": ("3412", "3620"),
    "缝纫机": ("3553",), "挖掘机": ("3514",), "工程机械": ("3514",), "拖拉机": ("3571",), "农用机械": ("357",),
    "牙科": ("3582", "8425"), "康复": ("3586", "8513"), "助听器": ("3586",), "房车": ("3630",),
    "座椅": ("3670",), "高铁": ("371",), "地铁": ("3720", "5412"), "游艇": ("3733",), "摩托车": ("3751",),
    "自行车": ("3761",), "变压器": ("3821",), "开关柜": ("3823",), "配电": ("3823",), "充电桩": ("3829", "5267"),
    "吸尘器": ("3855",), "洗衣机": ("3855",), "电饭煲": ("3854",), "燃气灶": ("3861",), "热水器": ("3861", "3859"),
    "服务器": ("3911",), "电脑": ("3911",), "笔记本电脑": ("3911",), "打印机": ("3913",), "路由器": ("3921",),
    "交换机": ("3921",), "基站": ("3921",), "电视机": ("3951",), "音箱": ("3952",), "耳机": ("3984",),
    "液晶": ("3974",), "面板": ("3974",), "屏幕": ("3974",), "电容": ("3981",), "电阻": ("3981",),
    "连接器": ("3989",), "水表": ("4016",), "电表": ("4016",), "手表": ("4030",), "钟表": ("4030",),
    "显微镜": ("4040",), "望远镜": ("4040",), "造粒": ("4220",), "再生塑料": ("4220",),
    "火电": ("4411",), "水电站": ("4413",), "核电": ("4414",), "液化气": ("4512",), "海水淡化": ("4630",),
    "拆除": ("5021",), "消防": ("4999", "3595"), "管道": ("4852", "4920"), "输变电": ("4851",),
    "档口": ("51",), "配件": ("3670", "5172"), "二手车": ("5262",), "手机店": ("5274",), "家具城": ("5283",),
    "大巴": ("5422", "5421"), "客运": ("542",), "搬家": ("5438",), "配送": ("5437",), "集装箱": ("5433", "3331"),
    "远洋": ("5521",), "危化品": ("5942", "5435"), "火锅": ("6210",), "快餐": ("6220",), "茶馆": ("6231",),
    "酒吧": ("6233",), "移动通信": ("6312",), "运营商": ("631",), "搜索引擎": ("6421",), "网络安全": ("6440",),
    "网站": ("6513",), "银行": ("6621",), "证券": ("6712",), "私募": ("6739",), "基金": ("67",),
    "保险": ("68",), "租房": ("7040",), "房屋租赁": ("7040",), "二手房": ("7030",), "投资": ("7212", "6760"),
    "产业园": ("7221",), "园区": ("7221",), "市场调研": ("7242",), "税务": ("7241",), "人才": ("7262",),
    "代办": ("7297",), "工商注册": ("7297",), "环境监测": ("7461",), "建筑设计": ("7484",),
    "室内设计": ("7492",), "平面设计": ("7492",), "计量": ("7453",), "校准": ("7453",), "勘探": ("747",),
    "孵化": ("7540",), "水处理": ("4620", "7721"), "公园": ("7850",), "美甲": ("8040",), "照相": ("8060",),
    "摄影": ("8060",), "殡葬": ("8080",), "电脑维修": ("8121",), "修鞋": ("8192",), "小学": ("8321",),
    "中学": ("8331",), "中职": ("8336",), "大学": ("8341",), "舞蹈": ("8393",), "美术": ("8393",),
    "中医": ("8412",), "护理": ("8512",), "报社": ("8622",), "报纸": ("8622",), "电台": ("8710",),
    "电视台": ("8720",), "剧团": ("8810",), "剧院": ("8820",), "博物馆": ("8850",), "球馆": ("8921",),
    "体育馆": ("8921",), "游戏厅": ("9012",), "彩票": ("904",), "经纪": ("905",), "艺人": ("9053",),
    "工会": ("9511",), "基金会": ("9530",),
    # in English, for English-speaking clerks
    "software": ("65",), "artificial intelligence": ("65",), "ai": ("65",), "saas": ("65",),
    "internet": ("64",), "data": ("65", "64"), "cloud": ("65", "64"), "iot": ("6532", "39"),
    "automotive": ("36",), "auto": ("36",), "car": ("36",), "vehicle": ("36",), "auto parts": ("3670",),
    "electronic": ("39",), "electronics": ("39",), "semiconductor": ("397",), "chip": ("3973",),
    "integrated circuit": ("3973",), "ic design": ("6520",), "telecom": ("392", "63"), "sensor": ("3983",),
    "machinery": ("34", "35"), "equipment": ("35", "34"), "robot": ("3491",), "robotics": ("3491",),
    "medical device": ("358",), "pharmaceutical": ("27",), "pharma": ("27",), "biotech": ("27", "73"),
    "chemical": ("26",), "materials": ("26", "30", "32"), "electrical": ("38",), "battery": ("384",),
    "new energy": ("38", "44", "36"), "solar": ("3825", "4416"), "photovoltaic": ("3825", "4416"),
    "instrument": ("40",), "testing": ("7452", "40"), "design": ("748", "749"), "textile": ("17",),
    "garment": ("18",), "apparel": ("18",), "clothing": ("18",), "food": ("14", "13"),
    "construction": ("47", "48", "49", "50"), "logistics": ("54", "58", "59"), "warehousing": ("59",),
    "courier": ("6020",), "r&d": ("73",), "research": ("73",), "consulting": ("724",), "wholesale": ("51",),
    "trade": ("51",), "trading": ("51",), "retail": ("52",), "e-commerce": ("5292", "6431"),
    "steel": ("31",), "metal": ("33",), "plastic": ("292",), "rubber": ("291",), "shipbuilding": ("373",),
    "aerospace": ("374",), "aviation": ("374",), "aircraft": ("3741",), "drone": ("3963", "3744"),
    "railway": ("371",), "power": ("44",), "electricity": ("44",), "environmental": ("772",),
    "printing": ("231",), "furniture": ("21",), "paper": ("22",), "catering": ("62",), "restaurant": ("6210",),
    "hotel": ("6110",), "advertising": ("725",), "education": ("83",), "agriculture": ("01",),
    "farming": ("01",), "real estate": ("70",), "freight forwarding": ("5821",), "car repair": ("8111",),
    "housekeeping": ("8010",), "staffing": ("7263",), "film": ("8730",), "wastewater": ("4620",),
    "injection molding": ("2929",), "landscaping": ("4891",),
}

# Words that say nothing about the activity ("我们公司主要做…", "…有限公司").
_FILLER = re.compile(
    "我们|我司|本公司|公司|有限|责任|股份|集团|企业|主要|从事|经营|业务|相关|一家|专业|提供|以及|"
    "各类|各种|产品|生产|国际|领域|行业|方面|工厂|厂家|厂|我|做|搞|是|的|等|和|及|与|或|其他|其它")
# Words of the standard's names that say nothing either ("其他未列明…", "…及…").
_NAME_FILLER = re.compile("其他|未列明|未包括|相关|及|和|与|或|的|等")
_TOKEN = re.compile(r"[\u3400-\u9fff]|[a-z0-9&]+")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9&\-]*")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[（）()【】\[\]、，,。.;；:：/\\\-—·]+", " ", text)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _pairs(tokens: list[str]) -> set[str]:
    return {a + b for a, b in zip(tokens, tokens[1:], strict=False)}


@dataclass(frozen=True, slots=True)
class _Doc:
    code: str  # the class it stands for: 2, 3 or 4 digits
    tokens: frozenset[str]
    pairs: frozenset[str]


def _doc(code: str, text: str) -> _Doc:
    parts = [_tokens(part) for part in text.split()]
    return _Doc(code, frozenset(t for p in parts for t in p), frozenset(x for p in parts for x in _pairs(p)))


@cache
def _index() -> tuple[tuple[_Doc, ...], dict[str, float], float]:
    """Every 大类, 中类 and 小类 name as a document; the weight of each character and pair (rare ones
    weigh more), counted over the names and the supplement words."""
    docs: list[_Doc] = []
    seen: set[tuple[str, str]] = set()
    named = [(d.code, d.name) for d in industries().values()] + [(c.code, c.name) for c in classes().values()]
    for code, name in named:
        text = _NAME_FILLER.sub(" ", _normalise(name))
        if (code[:2], text) in seen:
            continue  # a 中类 with one 小类 prints the same name twice: one document
        seen.add((code[:2], text))
        docs.append(_doc(code, text))
    df: Counter[str] = Counter()
    for d in [*docs, *(w for w, _codes in _words().values())]:
        df.update(d.tokens | d.pairs)
    n = len(docs) + len(_words())
    weight = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
    return tuple(docs), weight, math.log((n + 1) / 0.5)


@cache
def _words() -> dict[str, tuple[_Doc, tuple[str, ...]]]:
    """Each supplement word as its characters and pairs (a Latin word or phrase is one token), with the
    classes it means."""
    out = {}
    for word, codes in WORDS.items():
        latin = bool(_LATIN_WORD.fullmatch(word.replace(" ", "")))
        out[word] = (_Doc("", frozenset([word]), frozenset()) if latin else _doc("", _normalise(word)), codes)
    return out


# The standard's own word for what people say: 维修 is 修理 in its names, 开采 is 采选 …
_SAME = {"维修": "修理", "修车": "汽车修理", "开采": "采选", "养殖": "饲养", "加工": "制造", "施工": "建筑",
         "销售": "批发", "卖": "零售", "运营": "管理", "开发": "开发经营", "生产": "制造"}
# What kind of business a word's ending says: 手机店 sells phones, 火锅店 serves food, 照相馆 takes pictures.
_MANUFACTURING = tuple(f"{n:02d}" for n in range(13, 44))
MARKERS: dict[str, tuple[str, ...]] = {
    "店": ("52", "62", "80", "81"), "城": ("52",), "商行": ("51", "52"), "专卖": ("52",), "经销": ("51", "52"),
    "馆": ("62", "80", "88", "89"), "院": ("84", "85", "88"), "社": ("72", "86"), "台": ("87",), "团": ("88",),
    "厂": _MANUFACTURING, "制造": _MANUFACTURING, "加工": _MANUFACTURING,
    "工程": ("47", "48", "49", "50"), "施工": ("47", "48", "49", "50"), "安装": ("49",),
    "批发": ("51",), "贸易": ("51",), "零售": ("52",), "销售": ("51", "52"),
    "运输": ("53", "54", "55", "56", "57"), "租赁": ("70", "71"), "出租": ("71",), "培训": ("83",),
    "学校": ("83",), "中介": ("70", "72"), "维修": ("43", "81"), "修理": ("43", "81"), "养殖": ("03", "04"),
    "种植": ("01",), "开采": ("06", "07", "08", "09", "10"), "运营": ("64", "72", "78", "89"),
}
MARKER_BONUS = 0.1
WORD_BONUS = 0.08  # a class named by a supplement word is preferred to one whose name merely shares characters


@dataclass(frozen=True, slots=True)
class Match:
    """A 大类 that the words describe, the class whose name (or everyday word) matched best, and how well
    (0–1: the share of the words' weight that the class's name explains)."""

    industry: Industry
    via: IndustryClass | None  # None: matched on the 大类 itself
    score: float
    strong: bool = False  # explains the words well and clearly better than any other 大类

    @property
    def code(self) -> str:
        return self.industry.code

    @property
    def display(self) -> str:
        """"29 橡胶和塑料制品业（2929 塑料零件及其他塑料制品制造）"."""
        return f"{self.industry.display}（{self.via.display}）" if self.via else self.industry.display


STRONG = 0.8  # a match explaining this much of the words …
MARGIN = 0.25  # … and this much more than the next 大类 is taken without asking
FLOOR = 0.3  # below this a class is not offered at all


def _latin_words(text: str) -> list[str]:
    """The supplement's Latin words and phrases in `text`, whole words only ("trail" is not "ai")."""
    return [w for w in WORDS if _LATIN_WORD.match(w)
            and re.search(rf"(?<![a-z]){re.escape(w)}(e?s)?(?![a-z])", text)]


def search(text: str) -> list[Match]:
    """The 大类 that `text` may mean, likeliest first, each with the class that matched best."""
    norm = _normalise(text)
    latin = _latin_words(norm)
    if not re.search(r"[\u3400-\u9fff]", norm):
        return _search_latin(latin)
    words = [w for w in WORDS if not _LATIN_WORD.match(w) and w in norm] + latin
    # the longer word decides: "集成电路设计" is 6520 whatever "设计" suggests
    words = [w for w in words if not any(w != longer and w in longer for longer in words)]
    marked = {d for m, divisions in MARKERS.items() if m in norm for d in divisions}
    best: dict[str, tuple[float, _Doc]] = {}
    for variant in [norm] + [norm.replace(a, b) for a, b in _SAME.items() if a in norm]:
        _score(_FILLER.sub(" ", variant), words, latin, marked, best)
    return _ranked(best)


def _indexed(code: str) -> str:
    """The document standing for `code`: 0190 其他农业 is printed once, as 019."""
    return code if code in _codes() else code[:3]


@cache
def _codes() -> frozenset[str]:
    return frozenset(d.code for d in _index()[0])


def _score(query: str, words: list[str], latin: list[str], marked: set[str],
           best: dict[str, tuple[float, _Doc]]) -> None:
    docs, weight, unknown = _index()
    parts = [_tokens(part) for part in query.split()]
    qtoks = {t for p in parts for t in p} | set(latin)
    if not qtoks:
        return
    qpairs = {x for p in parts for x in _pairs(p)} & set(weight)
    tok_total = sum(weight.get(t, unknown) for t in qtoks)
    pair_total = sum(weight[x] for x in qpairs)
    # what each supplement word explains, for the classes it names (rank: its place in the list)
    said = [(_words()[w][0], _indexed(code), rank) for w in words for rank, code in enumerate(_words()[w][1])]
    for d in docs:
        toks, pairs, rank = d.tokens & qtoks, d.pairs & qpairs, None
        for wdoc, code, r in said:
            if d.code.startswith(code):
                toks, pairs = toks | (wdoc.tokens & qtoks), pairs | (wdoc.pairs & qpairs)
                rank = r if rank is None else min(rank, r)
        if not toks:
            continue
        got = sum(weight.get(t, unknown) for t in toks)
        cov = got / tok_total
        pcov = sum(weight[x] for x in pairs) / pair_total if pair_total else cov
        own = sum(weight.get(t, unknown) for t in d.tokens)
        precision = sum(weight.get(t, unknown) for t in d.tokens & qtoks) / own if own else 0.0
        score = 0.55 * cov + 0.35 * pcov + 0.10 * precision
        if rank is not None:
            score = (score + WORD_BONUS) * (1 - 0.04 * rank)
        division = d.code[:2]
        if division in marked:
            score += MARKER_BONUS  # over 1 is kept for ordering: the name that says it exactly wins
        if division not in best or score > best[division][0]:
            best[division] = (score, d)


def _search_latin(words: list[str]) -> list[Match]:
    """English words: a 大类 named by more of the words first, then by a word's own order."""
    words = [w for w in words if not any(w != longer and w in longer for longer in words)]
    score: dict[str, float] = {}
    first: dict[str, _Doc] = {}
    by_code = {d.code: d for d in _index()[0]}
    for w in words:
        for rank, code in enumerate(_words()[w][1]):
            division = code[:2]
            score[division] = score.get(division, 0) + 1 - rank / 10
            first.setdefault(division, by_code.get(code) or by_code[code[:3]])
    if not score:
        return []
    top = max(score.values())
    best = {c: (s / top * (1 if len(score) == 1 else 0.7), first[c]) for c, s in score.items()}
    return _ranked(best)


def _ranked(best: dict[str, tuple[float, _Doc]]) -> list[Match]:
    order = sorted((c for c in best if best[c][0] >= FLOOR), key=lambda c: (-best[c][0], c))
    out = []
    for i, division in enumerate(order):
        raw, doc = best[division]
        score = min(raw, 1.0)
        via = classes().get(doc.code)
        if via is not None and via.level == "中类":
            only = [c for c in classes().values() if c.level == "小类" and c.code[:3] == via.code]
            via = only[0] if len(only) == 1 else via  # 019 其他农业 is 0190 其他农业
        runner_up = min(best[order[1]][0], 1.0) if len(order) > 1 else 0.0
        strong = i == 0 and score >= STRONG and score - runner_up >= MARGIN
        out.append(Match(industries()[division], via, round(score, 3), strong))
    return out
